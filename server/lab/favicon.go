package lab

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/png"
	"math"
	"net/http"
	"strings"
	"sync"
	"time"
)

// The favicons the page links (favicon.ico while idle, favicon-busy-1.ico while a kernel is busy)
// belong to jupyter_server's static files, which hops does not ship. They are drawn here instead,
// once: an orange disc when idle and an orange ring when busy.
var (
	idleFavicon = sync.OnceValue(func() []byte { return drawFavicon(0) })
	busyFavicon = sync.OnceValue(func() []byte { return drawFavicon(0.45) })
)

// faviconModTime lets browsers revalidate the favicons instead of downloading them again.
var faviconModTime = time.Now()

// serveFavicon serves /static/favicons/{file}: any favicon*.ico name, busy ones for "busy" names.
func serveFavicon(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	if !strings.HasPrefix(name, "favicon") || !strings.HasSuffix(name, ".ico") {
		http.NotFound(w, r)
		return
	}
	icon := idleFavicon()
	if strings.Contains(name, "busy") {
		icon = busyFavicon()
	}
	w.Header().Set("Content-Type", "image/x-icon")
	w.Header().Set("Cache-Control", "public, max-age=86400")
	http.ServeContent(w, r, name, faviconModTime, bytes.NewReader(icon))
}

// drawFavicon draws a 32x32 Jupyter-orange disc whose hole has the given fraction of its radius,
// and wraps it as an ICO file holding one PNG image.
func drawFavicon(hole float64) []byte {
	const size = 32
	orange := color.NRGBA{R: 0xf3, G: 0x77, B: 0x26}
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	outer := float64(size)/2 - 1
	inner := outer * hole
	for y := range size {
		for x := range size {
			d := math.Hypot(float64(x)+0.5-size/2, float64(y)+0.5-size/2)
			// Coverage of the pixel by the ring, with a one-pixel soft edge on both sides.
			coverage := math.Min(clamp01(outer-d+0.5), clamp01(d-inner+0.5))
			c := orange
			c.A = uint8(math.Round(coverage * 255))
			img.SetNRGBA(x, y, c)
		}
	}
	var pngData bytes.Buffer
	png.Encode(&pngData, img)

	// ICONDIR (reserved, type 1 = icon, one image) and its ICONDIRENTRY, then the PNG.
	var ico bytes.Buffer
	binary.Write(&ico, binary.LittleEndian, [3]uint16{0, 1, 1})
	ico.Write([]byte{size, size, 0, 0})                                               // width, height, no palette, reserved
	binary.Write(&ico, binary.LittleEndian, [2]uint16{1, 32})                         // planes, bits per pixel
	binary.Write(&ico, binary.LittleEndian, [2]uint32{uint32(pngData.Len()), 6 + 16}) // image size, offset
	ico.Write(pngData.Bytes())
	return ico.Bytes()
}

func clamp01(v float64) float64 { return math.Max(0, math.Min(1, v)) }
