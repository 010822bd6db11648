package trust

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"time"
)

// DefaultWatchInterval is how often WatchFile polls. Kubernetes updates a
// mounted ConfigMap by swapping a symlink, which inotify on the file itself
// misses, so the watcher compares content instead.
const DefaultWatchInterval = 5 * time.Second

// LoadFile reads the bundle at path into the policy. WatchFile then
// reloads only when the content differs from what was loaded here.
func (p *Policy) LoadFile(path string) error {
	data, err := readLimited(path)
	if err != nil {
		return err
	}
	b, caps, extra, err := ParseBundleKeys(data)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	p.SetBundleKeys(b, caps, extra)
	p.mu.Lock()
	p.loaded = data
	p.mu.Unlock()
	return nil
}

// WatchFile polls path until ctx is done and loads the bundle whenever its
// content changes. A bad or missing file keeps the last good bundle: a
// half-written ConfigMap must not lock the fleet out. onReload, if not nil,
// is called after each attempt with the number of agents or the error.
func (p *Policy) WatchFile(ctx context.Context, path string, interval time.Duration, logger *slog.Logger, onReload func(agents int, err error)) {
	if interval <= 0 {
		interval = DefaultWatchInterval
	}
	if logger == nil {
		logger = slog.Default()
	}
	p.mu.Lock()
	last := p.loaded
	p.mu.Unlock()
	lastErr := ""
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		data, err := readLimited(path)
		if err == nil && bytes.Equal(data, last) {
			continue
		}
		var b Bundle
		var caps Caps
		var extra ExtraKeys
		if err == nil {
			b, caps, extra, err = ParseBundleKeys(data)
		}
		if err != nil {
			// Log and count each distinct failure once, not every poll.
			if data != nil {
				last = data
			}
			if err.Error() == lastErr {
				continue
			}
			lastErr = err.Error()
			logger.Warn("trust bundle reload failed; keeping the previous bundle", "path", path, "error", err)
			if onReload != nil {
				onReload(0, err)
			}
			continue
		}
		last, lastErr = data, ""
		p.SetBundleKeys(b, caps, extra)
		logger.Info("trust bundle reloaded", "path", path, "agents", len(b), "agents_with_caps", len(caps), "agents_rotating", len(extra))
		if onReload != nil {
			onReload(len(b), nil)
		}
	}
}
