package store

import (
	"testing"
	"time"
)

// hotMeter reports the share of role_state updates during a benchmark
// that were HOT (heap-only: no index entry written), from
// pg_stat_user_tables. A backend publishes its counters when it goes idle,
// at most once a second, so report waits that long first (outside the
// timer).
type hotMeter struct {
	s        *Store
	upd, hot int64
	ok       bool
}

func startHOTMeter(s *Store) *hotMeter {
	m := &hotMeter{s: s}
	if s.dialect == DialectPostgres {
		time.Sleep(1100 * time.Millisecond) // let earlier writes publish theirs
		m.upd, m.hot, m.ok = m.read()
	}
	return m
}

func (m *hotMeter) read() (upd, hot int64, ok bool) {
	err := m.s.w.QueryRow(`SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = 'role_state'`).Scan(&upd, &hot)
	return upd, hot, err == nil
}

func (m *hotMeter) report(b *testing.B) {
	if !m.ok {
		return
	}
	time.Sleep(1100 * time.Millisecond)
	upd, hot, ok := m.read()
	if ok && upd > m.upd {
		b.ReportMetric(100*float64(hot-m.hot)/float64(upd-m.upd), "hot-%")
	}
}
