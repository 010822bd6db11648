package protocol

import (
	"testing"

	"github.com/hsfleet/hsfleet/agent/protocol/bind"
)

// An agent with DisableBinding sends what the Python reference sends (no
// hs bind, no mac, a sealed plaintext of only "message"), so its cycles
// with a binding-capable peer count as unverified on both sides.
func TestDisableBindingMakesALegacyPeer(t *testing.T) {
	for _, who := range []string{"initiator", "responder"} {
		t.Run("legacy "+who, func(t *testing.T) {
			l, _ := bindWorld(t, false)
			legacy := l.ini
			if who == "responder" {
				legacy = l.resp
			}
			legacy.m.DisableBinding = true
			sent := 0
			inspect := func(p map[string]any) {
				sent++
				if _, ok := p["mac"]; ok {
					t.Errorf("%s carries a mac", p["intent"])
				}
				if hs, ok := p["hs"].(map[string]any); ok && hs[bind.HSKey] != nil {
					t.Errorf("%s hs carries a bind", p["intent"])
				}
				if sec, ok := p["sec"]; ok {
					own := &Session{Key: legacy.Mem.Session.Key, PeerSignPub: legacy.id.SignPub()}
					plain, err := OpenSec(sec, own)
					if err != nil || len(plain) != 1 || plain["message"] == nil {
						t.Errorf("%s sealed %v (%v); want only message", p["intent"], plain, err)
					}
				}
			}
			if who == "initiator" {
				l.mangleIni = inspect
			} else {
				l.mangleResp = inspect
			}
			l.runCycles(t, 2)
			if l.ini.cycles < 2 || l.resp.cycles != 2 || l.ini.verified+l.resp.verified != 0 {
				t.Fatalf("cycles %d/%d, verified %d/%d; want 2 unverified on both sides",
					l.ini.cycles, l.resp.cycles, l.ini.verified, l.resp.verified)
			}
			if sent == 0 {
				t.Fatal("the legacy side sent nothing")
			}
		})
	}
}
