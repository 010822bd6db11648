package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// The Docker-free image must match the Dockerfile's final stage, or the
// local-cluster e2e would prove a different image than the one shipped.
func TestDockerfileFinalStageMatchesImageTarDefaults(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	final := 0
	for i, l := range lines {
		if strings.HasPrefix(l, "FROM ") {
			final = i
		}
	}
	stage := strings.Join(lines[final:], "\n")
	for _, want := range []string{
		"FROM gcr.io/distroless/static:nonroot",
		"COPY --from=build /out/hsfleet /hsfleet",
		"USER 65532:65532",
		`ENTRYPOINT ["/hsfleet"]`,
		"ENV TZ=UTC",
	} {
		if !strings.Contains(stage, want) {
			t.Errorf("Dockerfile final stage lacks %q", want)
		}
	}
	if !strings.Contains(string(data), "CGO_ENABLED=0") {
		t.Error("Dockerfile does not build a static binary (CGO_ENABLED=0)")
	}

	// The same facts from imagetar run with its default flags.
	out := filepath.Join(t.TempDir(), "img.tar")
	if err := run([]string{"-binary", writeFakeBinary(t, "x"), "-out", out}); err != nil {
		t.Fatal(err)
	}
	ref, err := name.NewTag("hsfleet:dev")
	if err != nil {
		t.Fatal(err)
	}
	img, err := tarball.ImageFromPath(out, &ref)
	if err != nil {
		t.Fatalf("default tag is not hsfleet:dev: %v", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.Config.User != "65532:65532" || strings.Join(cf.Config.Entrypoint, " ") != "/hsfleet" {
		t.Errorf("imagetar image: user %q entrypoint %q", cf.Config.User, cf.Config.Entrypoint)
	}
	hasTZ := false
	for _, e := range cf.Config.Env {
		hasTZ = hasTZ || e == "TZ=UTC"
	}
	if !hasTZ {
		t.Errorf("imagetar image env %q lacks TZ=UTC", cf.Config.Env)
	}
}
