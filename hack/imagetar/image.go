package main

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// spec describes a single-binary image: the same shape the Dockerfile's
// distroless/static:nonroot stage produces, without needing Docker.
type spec struct {
	BinaryPath string   // file on disk to put into the image
	InImage    string   // absolute path of the binary inside the image, e.g. /hsfleet
	Entrypoint []string // defaults to [InImage]
	User       string   // "uid:gid"
	Arch       string   // GOARCH, e.g. amd64
	Labels     map[string]string
}

// epoch pins every timestamp so the same binary always yields the same digest.
var epoch = time.Unix(0, 0).UTC()

// buildImage assembles the image: one layer with the base files of a
// distroless nonroot image (passwd, group, /tmp, home) and the binary.
func buildImage(s spec) (v1.Image, error) {
	if !path.IsAbs(s.InImage) {
		return nil, fmt.Errorf("path in image %q is not absolute", s.InImage)
	}
	bin, err := os.ReadFile(s.BinaryPath)
	if err != nil {
		return nil, fmt.Errorf("read binary: %w", err)
	}
	layerTar, err := layerBytes(s.InImage, bin)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithMediaType(types.DockerLayer))
	if err != nil {
		return nil, fmt.Errorf("make layer: %w", err)
	}
	img, err := mutate.Append(empty.Image, mutate.Addendum{
		Layer:   layer,
		History: v1.History{CreatedBy: "hack/imagetar: " + s.InImage, Created: v1.Time{Time: epoch}},
	})
	if err != nil {
		return nil, fmt.Errorf("append layer: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	cf = cf.DeepCopy()
	cf.Architecture = s.Arch
	cf.OS = "linux"
	cf.Created = v1.Time{Time: epoch}
	cf.Config.Entrypoint = s.Entrypoint
	if len(cf.Config.Entrypoint) == 0 {
		cf.Config.Entrypoint = []string{s.InImage}
	}
	cf.Config.User = s.User
	cf.Config.WorkingDir = "/"
	cf.Config.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin", "TZ=UTC"}
	cf.Config.Labels = s.Labels
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, fmt.Errorf("set config: %w", err)
	}
	return img, nil
}

// layerBytes writes the layer as an uncompressed tar. Directories come first
// so every runtime can unpack it in order.
func layerBytes(inImage string, bin []byte) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := []struct {
		name     string
		mode     int64
		uid, gid int
	}{
		{"etc/", 0o755, 0, 0},
		{"home/", 0o755, 0, 0},
		{"home/nonroot/", 0o700, 65532, 65532},
		{"tmp/", 0o1777, 0, 0},
	}
	seen := map[string]bool{}
	for _, d := range dirs {
		seen[d.name] = true
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d.name, Mode: d.mode, Uid: d.uid, Gid: d.gid, ModTime: epoch, Format: tar.FormatPAX}); err != nil {
			return nil, fmt.Errorf("tar dir %s: %w", d.name, err)
		}
	}
	// Parent directories of the binary, when it is not at the root.
	rel := strings.TrimPrefix(path.Clean(inImage), "/")
	if dir := path.Dir(rel); dir != "." {
		parts := strings.Split(dir, "/")
		for i := range parts {
			name := strings.Join(parts[:i+1], "/") + "/"
			if seen[name] {
				continue
			}
			seen[name] = true
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: 0o755, ModTime: epoch, Format: tar.FormatPAX}); err != nil {
				return nil, fmt.Errorf("tar dir %s: %w", name, err)
			}
		}
	}
	files := []struct {
		name string
		mode int64
		data []byte
	}{
		{"etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n")},
		{"etc/group", 0o644, []byte("root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n")},
		{rel, 0o755, bin},
	}
	for _, f := range files {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: f.name, Mode: f.mode, Size: int64(len(f.data)), ModTime: epoch, Format: tar.FormatPAX}); err != nil {
			return nil, fmt.Errorf("tar file %s: %w", f.name, err)
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, fmt.Errorf("tar file %s: %w", f.name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("close tar: %w", err)
	}
	return buf.Bytes(), nil
}
