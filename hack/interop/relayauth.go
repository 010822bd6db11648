package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Scenarios with authenticated registration (docs/relay-auth.md): the
// relay holds a trust bundle; hsfleet agents in it prove their IDs,
// Python agents cannot and are served unauthenticated.

// authRelay is `hsfleet relay --trust-bundle` with its metrics listener.
type authRelay struct{ metricsURL string }

// startAuthRelay writes a bundle of agents' keys and runs the relay with
// it on addr (unauthenticated clients allowed, the default).
func (r *run) startAuthRelay(addr string, inBundle ...*agent) (*authRelay, error) {
	b := map[string]string{}
	for _, a := range inBundle {
		b[a.id] = a.signPub
	}
	data, err := json.Marshal(b)
	if err != nil {
		return nil, err
	}
	bundle := filepath.Join(r.dir, "trust-bundle.json")
	if err := os.WriteFile(bundle, data, 0o600); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	metrics := ln.Addr().String()
	ln.Close()
	if _, err := r.startOurRelay(addr, "--trust-bundle", bundle, "--metrics-listen", metrics); err != nil {
		return nil, err
	}
	return &authRelay{metricsURL: "http://" + metrics + "/metrics"}, nil
}

// metric reads one sample, e.g. `hsfleet_relay_lines_dropped_total{reason="unauthenticated_id"}`.
func (a *authRelay) metric(sample string) (float64, error) {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(a.metricsURL)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), sample+" "); ok {
			return strconv.ParseFloat(v, 64)
		}
	}
	return 0, fmt.Errorf("relay metrics have no %s (%v)", sample, sc.Err())
}

const (
	metricUnauthDrops   = `hsfleet_relay_lines_dropped_total{reason="unauthenticated_id"}`
	metricAuthenticated = `hsfleet_relay_connections_authenticated`
)

// pythonClaimsBundleID: a Python agent whose ID is in the relay's bundle
// cannot prove it, so the relay drops every line it sends under that ID;
// an hsfleet agent in the bundle authenticates, and a Python agent outside
// the bundle cycles with it unauthenticated.
func pythonClaimsBundleID(r *run) error {
	alice, err := r.newPython("alice") // in the bundle, cannot authenticate
	if err != nil {
		return err
	}
	hsbob, err := r.newHsfleet("hsbob", pythonRelayAddr)
	if err != nil {
		return err
	}
	relay, err := r.startAuthRelay(pythonRelayAddr, alice, hsbob)
	if err != nil {
		return err
	}
	carol, err := r.newPython("carol") // not in the bundle: allowed, unauthenticated
	if err != nil {
		return err
	}
	for _, a := range []*agent{alice, hsbob, carol} {
		if err := r.launch(a); err != nil {
			return err
		}
	}
	time.Sleep(r.d(40))
	if err := r.alive(); err != nil {
		return err
	}
	now, err := r.snapshot()
	if err != nil {
		return err
	}
	var errs []error
	for _, p := range r.pairs() {
		n := now.cycles(p[0], p[1])
		fmt.Printf("  %s(%s) -> %s(%s): %d cycles\n", p[0].name, kind(p[0]), p[1].name, kind(p[1]), n)
		switch {
		case (p[0] == alice || p[1] == alice) && n > 0:
			errs = append(errs, fmt.Errorf("%s -> %s cycled %d times although alice's lines must be dropped", p[0].name, p[1].name, n))
		case p[0] != alice && p[1] != alice && n < 1:
			errs = append(errs, fmt.Errorf("%s -> %s: no cycle between the authenticated hsfleet agent and the unauthenticated Python agent", p[0].name, p[1].name))
		}
	}
	drops, err := relay.metric(metricUnauthDrops)
	errs = append(errs, err)
	authed, err := relay.metric(metricAuthenticated)
	errs = append(errs, err)
	fmt.Printf("  relay: %v lines dropped as unauthenticated_id, %v authenticated connections\n", drops, authed)
	if drops == 0 {
		errs = append(errs, errors.New("the relay dropped no line of alice's (unauthenticated_id)"))
	}
	if authed != 1 {
		errs = append(errs, fmt.Errorf("relay has %v authenticated connections, want 1 (hsbob)", authed))
	}
	return errors.Join(errs...)
}
