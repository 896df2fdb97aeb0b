package kernel

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
)

// logoSVG is the kernelspec icon JupyterLab shows in the launcher: a hop cone on a green disc.
const logoSVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64" width="64" height="64">
  <circle cx="32" cy="32" r="30" fill="#2e7d32"/>
  <g fill="#c5e1a5" stroke="#1b5e20" stroke-width="1.5">
    <ellipse cx="32" cy="46" rx="7" ry="6"/>
    <ellipse cx="25" cy="37" rx="7" ry="6"/><ellipse cx="39" cy="37" rx="7" ry="6"/>
    <ellipse cx="32" cy="28" rx="8" ry="6.5"/>
    <ellipse cx="25" cy="20" rx="6" ry="5"/><ellipse cx="39" cy="20" rx="6" ry="5"/>
  </g>
  <path d="M32 14 L32 6" stroke="#c5e1a5" stroke-width="3" stroke-linecap="round"/>
</svg>
`

// logoPNG renders a raster version of the logo (green disc, light cone) at size×size pixels.
func logoPNG(size int) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	green := color.NRGBA{0x2e, 0x7d, 0x32, 0xff}
	light := color.NRGBA{0xc5, 0xe1, 0xa5, 0xff}
	s := float64(size) / 64
	inEllipse := func(x, y, cx, cy, rx, ry float64) bool {
		dx, dy := (x-cx*s)/(rx*s), (y-cy*s)/(ry*s)
		return dx*dx+dy*dy <= 1
	}
	cone := [][4]float64{{32, 46, 7, 6}, {25, 37, 7, 6}, {39, 37, 7, 6}, {32, 28, 8, 6.5}, {25, 20, 6, 5}, {39, 20, 6, 5}}
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			fx, fy := float64(x)+0.5, float64(y)+0.5
			if !inEllipse(fx, fy, 32, 32, 30, 30) {
				continue
			}
			img.SetNRGBA(x, y, green)
			for _, c := range cone {
				if inEllipse(fx, fy, c[0], c[1], c[2], c[3]) {
					img.SetNRGBA(x, y, light)
				}
			}
		}
	}
	var buf bytes.Buffer
	_ = png.Encode(&buf, img) // encoding an in-memory image cannot fail
	return buf.Bytes()
}
