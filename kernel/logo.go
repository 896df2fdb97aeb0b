package kernel

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"strings"
)

// The kernelspec icon JupyterLab shows in the launcher: a hop cone on a green disc, drawn on a 64×64
// grid. One description feeds both the SVG and the PNG.
var (
	logoDisc  = ellipse{32, 32, 30, 30}
	logoCone  = []ellipse{{32, 46, 7, 6}, {25, 37, 7, 6}, {39, 37, 7, 6}, {32, 28, 8, 6.5}, {25, 20, 6, 5}, {39, 20, 6, 5}}
	logoGreen = color.NRGBA{0x2e, 0x7d, 0x32, 0xff}
	logoLight = color.NRGBA{0xc5, 0xe1, 0xa5, 0xff}
	logoDark  = color.NRGBA{0x1b, 0x5e, 0x20, 0xff}
	logoLine  = 1.5 // outline width of the cone's scales
)

type ellipse struct{ cx, cy, rx, ry float64 }

func (e ellipse) contains(x, y float64) bool {
	dx, dy := (x-e.cx)/e.rx, (y-e.cy)/e.ry
	return dx*dx+dy*dy <= 1
}

// inset is the ellipse shrunk by d on every side.
func (e ellipse) inset(d float64) ellipse { return ellipse{e.cx, e.cy, e.rx - d, e.ry - d} }

func hexColor(c color.NRGBA) string { return fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B) }

// logoSVG renders the logo as SVG.
func logoSVG() string {
	var b strings.Builder
	b.WriteString(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64" width="64" height="64">` + "\n")
	fmt.Fprintf(&b, `  <circle cx="%g" cy="%g" r="%g" fill="%s"/>`+"\n", logoDisc.cx, logoDisc.cy, logoDisc.rx, hexColor(logoGreen))
	fmt.Fprintf(&b, `  <g fill="%s" stroke="%s" stroke-width="%g">`+"\n", hexColor(logoLight), hexColor(logoDark), logoLine)
	for _, e := range logoCone {
		fmt.Fprintf(&b, `    <ellipse cx="%g" cy="%g" rx="%g" ry="%g"/>`+"\n", e.cx, e.cy, e.rx, e.ry)
	}
	b.WriteString("  </g>\n</svg>\n")
	return b.String()
}

// logoPNG renders the logo at size×size pixels.
func logoPNG(size int) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	scale := 64 / float64(size)
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			fx, fy := (float64(x)+0.5)*scale, (float64(y)+0.5)*scale
			if !logoDisc.contains(fx, fy) {
				continue
			}
			img.SetNRGBA(x, y, logoGreen)
			for _, e := range logoCone { // later scales overlap earlier ones, as in the SVG
				switch {
				case e.inset(logoLine/2).contains(fx, fy):
					img.SetNRGBA(x, y, logoLight)
				case e.inset(-logoLine/2).contains(fx, fy):
					img.SetNRGBA(x, y, logoDark)
				}
			}
		}
	}
	var buf bytes.Buffer
	_ = png.Encode(&buf, img) // encoding an in-memory image cannot fail
	return buf.Bytes()
}
