package relay

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Presence announcing: each replica tells the others when a proven agent
// ID binds or leaves here, and re-announces its whole set every period so
// a new replica learns it and a dead replica's entries expire. With it, a
// line to an agent proven on another replica is published to the replicas
// only instead of also being broadcast here (conn.handle).

// presenceTTL is how many periods without a re-announce expire an entry.
const presenceTTL = 3

func (s *Server) startPresence() {
	period := s.cfg.Cluster.PresencePeriod
	if period <= 0 {
		period = DefaultPresencePeriod
	}
	s.presence.ttl = presenceTTL * period
	s.presence.full = s.metrics.presenceFull.Inc
	s.presenceKick = make(chan struct{}, 1)
	s.hub.announce = s.announcePresence
	go s.runPresence(period)
}

// runPresence asks the others for their sets (this replica may have just
// restarted), then re-announces its own and expires stale entries every
// period, or at once when a replica asks.
func (s *Server) runPresence(period time.Duration) {
	t := time.NewTicker(period)
	defer t.Stop()
	var b []byte
	b = appendPresenceHeader(b[:0], presenceRequest, s.bus.name)
	s.publishPresence(b)
	for {
		s.reannounce()
		select {
		case <-s.done:
			return
		case <-t.C:
			s.presence.sweep(time.Now())
		case <-s.presenceKick:
		}
	}
}

// reannounce publishes every proven ID held here, in bounded chunks.
func (s *Server) reannounce() {
	ids := s.hub.provenHere()
	b := appendPresenceHeader(nil, presenceHere, s.bus.name)
	header := len(b)
	for _, id := range ids {
		if len(id) > maxRouteID {
			continue // never routed by id: broadcast
		}
		if len(b)+1+len(id) > presenceChunk {
			s.publishPresence(b)
			b = b[:header]
		}
		b = appendPresenceID(b, id)
	}
	if len(b) > header {
		s.publishPresence(b)
	}
}

// announcePresence is the hub's hook: id was bound here, or left. The hub
// calls it under routeMu, so announces for one ID leave in the order the
// hub changed.
func (s *Server) announcePresence(id string, here bool) {
	if len(id) > maxRouteID {
		return
	}
	op := byte(presenceGone)
	if here {
		op = presenceHere
	}
	var buf [2 + maxReplicaName + 1 + maxRouteID]byte
	b := appendPresenceHeader(buf[:0], op, s.bus.name)
	s.publishPresence(appendPresenceID(b, id))
}

func (s *Server) publishPresence(b []byte) {
	if err := s.bus.nc.Publish(presenceSubject, b); err != nil && !s.closing.Load() {
		s.log.Warn("cluster presence not published", "error", err)
	}
}

// receivePresence applies another replica's presence message.
func (s *Server) receivePresence(data []byte) {
	op, replica, ids, err := decodePresence(data)
	if err != nil {
		s.metrics.presenceMalformed.Inc()
		s.log.Warn("cluster presence dropped", "error", err, "bytes", len(data))
		return
	}
	switch op {
	case presenceHere:
		s.presence.here(replica, ids, time.Now())
	case presenceGone:
		s.presence.gone(replica, ids)
	case presenceRequest:
		select {
		case s.presenceKick <- struct{}{}:
		default: // a re-announce is already due
		}
	}
}

// presenceGauge reports the agent IDs known proven on other replicas.
func (s *Server) presenceGauge() prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "hsfleet", Subsystem: "relay",
		Name: "cluster_presence_ids", Help: "Agent IDs known to be proven on other relay replicas (lines to them are not broadcast here)."},
		func() float64 {
			if s.presence == nil {
				return 0
			}
			return float64(s.presence.size())
		})
}
