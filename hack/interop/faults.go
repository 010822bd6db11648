package main

import (
	"bufio"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// faultProxy sits between the agents and the relay and, while on, drops
// and delays whole lines at random in both directions. Delays hold the
// stream (order is kept, as a real relay keeps it).
type faultProxy struct {
	ln              net.Listener
	upstream        string
	on              atomic.Bool
	dropP, delayP   float64
	maxDelay        time.Duration
	dropped, passed atomic.Int64
	// hold, if not nil, drops the agents' lines (towards the relay) for
	// which it returns true, on top of the random faults: a scenario's
	// targeted fault.
	hold  func(line []byte) bool
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns []net.Conn
}

func startFaultProxy(listen, upstream string, dropP, delayP float64, maxDelay time.Duration, hold func(line []byte) bool) (*faultProxy, error) {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, err
	}
	p := &faultProxy{ln: ln, upstream: upstream, dropP: dropP, delayP: delayP, maxDelay: maxDelay, hold: hold}
	p.on.Store(true)
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

func (p *faultProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		u, err := net.Dial("tcp", p.upstream)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, u)
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pump(c, u, true)
		go p.pump(u, c, false)
	}
}

// pump copies lines from src to dst, applying faults; either side closing
// closes both. up: src is an agent, dst the relay.
func (p *faultProxy) pump(src, dst net.Conn, up bool) {
	defer p.wg.Done()
	defer src.Close()
	defer dst.Close()
	br := bufio.NewReaderSize(src, 256<<10)
	for {
		line, err := br.ReadBytes('\n')
		if up && p.hold != nil && p.hold(line) {
			p.dropped.Add(1)
			continue
		}
		if len(line) > 0 && line[len(line)-1] == '\n' && p.on.Load() {
			switch r := rand.Float64(); {
			case r < p.dropP:
				p.dropped.Add(1)
				continue
			case r < p.dropP+p.delayP:
				time.Sleep(time.Duration(rand.Int64N(int64(p.maxDelay))))
			}
		}
		p.passed.Add(1)
		if len(line) > 0 {
			if _, werr := dst.Write(line); werr != nil {
				return
			}
		}
		if err != nil {
			if err != io.EOF {
				return
			}
			return
		}
	}
}

func (p *faultProxy) close() {
	p.ln.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// freeAddr picks a free loopback port for a child process to listen on.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}
