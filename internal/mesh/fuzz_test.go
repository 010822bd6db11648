package mesh

import (
	"encoding/json"
	"io"
	"testing"
	"time"
)

// FuzzDecodedView: `hsfleet mesh --operator` decodes untrusted JSON, and
// whatever Check accepts must render without panicking.
func FuzzDecodedView(f *testing.F) {
	for _, d := range []Data{fixture(), bigFixture(3), {}} {
		b, err := json.Marshal(Build(t0, time.Minute, d))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"agents":[{"name":"a"},{"name":"b"}],"cells":[[null,{"ageSec":-5,"status":"weird"}],[{"cycles":-1},null]],"worst":[{"i":1,"r":0}],"staleAfterSec":-1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var v View
		if json.Unmarshal(b, &v) != nil || v.Check() != nil {
			return
		}
		if err := RenderText(io.Discard, &v, TextOptions{Color: true, Width: 80}); err != nil {
			t.Fatal(err)
		}
		if err := RenderPage(io.Discard, &v, "n"); err != nil {
			t.Fatal(err)
		}
	})
}
