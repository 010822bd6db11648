package relay

import (
	"bytes"

	"github.com/prometheus/client_golang/prometheus"
)

// publishRemote hands a line this replica relayed to the other replicas.
// to is the directed recipient the line could not be delivered to here.
// A failed publish (bus closed or buffer full) costs other replicas this
// line only, so it is counted and logged, never fatal.
func (c *conn) publishRemote(to []byte, wrapped []byte) {
	s := c.srv
	c.busBuf = encodeBusLine(c.busBuf[:0], to, wrapped)
	if err := s.bus.nc.Publish(busSubject, c.busBuf); err != nil {
		s.metrics.clusterDropped.Inc()
		c.logDrop("cluster_publish", "bytes", len(wrapped))
		return
	}
	s.metrics.clusterPublished.Inc()
}

// publishDirected hands a line to the replicas holding its proven
// recipient, instead of broadcasting it here (see presence.go).
func (c *conn) publishDirected(to []byte, wrapped []byte) {
	s := c.srv
	c.busBuf = encodeBusLine(c.busBuf[:0], to, wrapped)
	if err := s.bus.nc.Publish(directedSubject, c.busBuf); err != nil {
		s.metrics.clusterDropped.Inc()
		c.logDrop("cluster_publish", "bytes", len(wrapped))
		return
	}
	s.metrics.clusterPublished.Inc()
	s.metrics.clusterDirected.Inc()
}

// deliverBus dispatches one message from another replica by subject.
func (s *Server) deliverBus(subject string, data []byte) {
	switch subject {
	case busSubject:
		s.deliverRemote(data, false)
	case directedSubject:
		s.deliverRemote(data, true)
	case presenceSubject:
		s.receivePresence(data)
	}
}

// deliverRemote queues a line from another replica to this replica's
// clients: only to the directed recipient when it is connected here,
// otherwise to all of them (the sender is on another replica), unless the
// sender sent it directed only: then the recipient just left and the line
// is dropped (counted). It runs on the bus subscription's goroutine, one
// line at a time, so per-sender order is kept.
func (s *Server) deliverRemote(data []byte, directedOnly bool) {
	to, wrapped, err := decodeBusLine(data)
	if err == nil && (bytes.IndexByte(wrapped[:len(wrapped)-1], '\n') >= 0 || !s.fitsClients(wrapped)) {
		err = errBusLine
	}
	if err != nil {
		s.metrics.clusterMalformed.Inc()
		s.log.Warn("cluster line dropped", "error", err, "bytes", len(data))
		return
	}
	s.metrics.clusterReceived.Inc()
	f := getFrame()
	f.b = append(f.b, wrapped...)
	if len(to) > 0 && s.cfg.DirectedRouting {
		if c := s.hub.lookup(to); c != nil {
			if c.q.push(f) == pushFull {
				c.kill()
			}
			s.metrics.directed.Inc()
			return
		}
		if directedOnly {
			f.release()
			s.metrics.clusterDirectedGone.Inc()
			return
		}
	}
	peers := s.hub.conns()
	f.retain(int32(len(peers)))
	for _, p := range peers {
		switch p.q.push(f) {
		case pushFull:
			p.kill()
		case pushClosed:
			s.metrics.dropRecipient.Inc()
		}
	}
	f.release()
}

// clusterRoutesGauge reports live route connections to other replicas.
func (s *Server) clusterRoutesGauge() prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "hsfleet", Subsystem: "relay",
		Name: "cluster_routes", Help: "Other relay replicas this one has NATS routes to (replicas - 1 when the mesh is whole)."},
		func() float64 {
			if s.bus == nil {
				return 0
			}
			return float64(s.bus.routes())
		})
}
