package protocol

import (
	"maps"
	"testing"
)

// FuzzBindingFields feeds hostile values into the negotiated fields a
// binding peer's lines carry (hs.bind of a confirm, mac of a close) and
// checks the machine never panics and accepts only the genuine value: a
// changed bind leaves the initiator in init_ready, a changed mac counts no
// cycle.
func FuzzBindingFields(f *testing.F) {
	l, _ := bindWorld(&testing.T{}, true)
	_, confirms := l.resp.receive(register(l.ini.id.ID))
	confirm := confirms[0]
	genuineBind := confirm["hs"].(map[string]any)["bind"].(string)
	iniRow, iniMem := l.ini.Row, l.ini.Mem
	var close map[string]any
	for steps := 0; steps < 200 && close == nil; steps++ {
		l.toIni = append(l.toIni, confirms...)
		confirms = nil
		l.step(&testing.T{}, func(p map[string]any) {
			if p["intent"] == string(IntentClose) && close == nil {
				close = maps.Clone(p)
			}
		})
	}
	if close == nil || l.resp.Row.State != StateRespFinalize {
		f.Fatalf("no close to fuzz (responder in %s)", l.resp.Row.State)
	}
	respRow, respMem := l.resp.Row, l.resp.Mem
	genuineMAC := close["mac"].(string)
	f.Add(genuineBind, genuineMAC)
	f.Add("", "")
	f.Add(genuineBind[:87]+"=", genuineMAC[:43]+"=")
	f.Fuzz(func(t *testing.T, bindVal, macVal string) {
		hs := maps.Clone(confirm["hs"].(map[string]any))
		hs["bind"] = bindVal
		p := maps.Clone(confirm)
		p["hs"] = hs
		msg, err := ParseMsg(p, "", l.ini.id.ID)
		if err != nil {
			t.Fatal(err)
		}
		res, err := l.ini.m.OnMessage(iniRow, iniMem, msg, l.ini.env)
		if err != nil {
			t.Fatal(err)
		}
		if accepted := res.Ignored == ""; accepted != (bindVal == genuineBind) {
			t.Fatalf("bind %q: accepted %v (ignored %q)", bindVal, accepted, res.Ignored)
		}

		c := maps.Clone(close)
		c["mac"] = macVal
		if msg, err = ParseMsg(c, "", l.resp.id.ID); err != nil {
			t.Fatal(err)
		}
		if res, err = l.resp.m.OnMessage(respRow, respMem, msg, l.resp.env); err != nil {
			t.Fatal(err)
		}
		if res.CycleDone != (macVal == genuineMAC) || (res.CycleDone && !res.Verified) {
			t.Fatalf("mac %q: cycle %v verified %v (ignored %q)", macVal, res.CycleDone, res.Verified, res.Ignored)
		}
	})
}
