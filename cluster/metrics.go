package cluster

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the Prometheus metrics of one replica's leadership. The caller registers them
// (Collectors) and passes Hooks to NewElector.
type Metrics struct {
	// Leader is 1 while this replica leads, else 0 (feedd_leader).
	Leader prometheus.Gauge
	// Renewals counts successful lease renewals (feedd_lease_renewals_total).
	Renewals prometheus.Counter
	// Failovers counts the terms this replica began after seeing another term: takeovers, not
	// the first election of a fresh cluster (feedd_failovers_total).
	Failovers prometheus.Counter
}

// NewMetrics returns unregistered leadership metrics.
func NewMetrics() *Metrics {
	return &Metrics{
		Leader: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "feedd_leader", Help: "1 while this replica holds the cluster lease, else 0.",
		}),
		Renewals: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "feedd_lease_renewals_total", Help: "Successful renewals of the cluster lease by this replica.",
		}),
		Failovers: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "feedd_failovers_total", Help: "Terms this replica began after another term: takeovers.",
		}),
	}
}

// Collectors returns the metrics, to register.
func (m *Metrics) Collectors() []prometheus.Collector {
	return []prometheus.Collector{m.Leader, m.Renewals, m.Failovers}
}

// Hooks returns the Elector hooks that keep the metrics.
func (m *Metrics) Hooks() Hooks {
	return Hooks{
		Elected: func(_ uint64, previous string) {
			m.Leader.Set(1)
			if previous != "" {
				m.Failovers.Inc()
			}
		},
		Renewed: m.Renewals.Inc,
		Lost:    func(uint64, error) { m.Leader.Set(0) },
	}
}
