package generator

import (
	"strconv"
	"time"

	"github.com/meshgen/meshgen/generator/inventory"
)

// applyPolicy writes a service's traffic policy into the traffic policy
// of its DestinationRule. Locality failover is Istio's locality-weighted
// priorities: a caller's own region (and zone) first, every other region
// only after outlier detection has ejected the nearer endpoints; Istio
// computes this order itself from the endpoints' localities, so meshgen
// writes no from/to failover list (with three regions or more it would
// have to invent which region comes second). failoverPriority, when
// given, replaces that order with label matching.
// With failover none, where the endpoints have localities, Istio's
// mesh-wide locality load balancing is turned off for the host; where they
// have none it changes nothing, and nothing is written.
func applyPolicy(tp *TrafficPolicy, p inventory.Policy, localities bool) {
	if o := p.Outlier; o != nil {
		tp.OutlierDetection = &OutlierDetection{
			Consecutive5xxErrors: o.Consecutive5xxErrors,
			Interval:             protoDuration(o.Interval),
			BaseEjectionTime:     protoDuration(o.BaseEjectionTime),
			MaxEjectionPercent:   o.MaxEjectionPercent,
		}
	}
	switch p.Failover {
	case inventory.FailoverLocality:
		tp.LoadBalancer = &LoadBalancerSettings{LocalityLbSetting: &LocalityLbSetting{
			Enabled:          true,
			FailoverPriority: p.FailoverPriority,
		}}
	case inventory.FailoverNone:
		if !localities {
			return
		}
		tp.LoadBalancer = &LoadBalancerSettings{LocalityLbSetting: &LocalityLbSetting{Enabled: false}}
	}
}

// protoDuration writes d as a protobuf JSON duration ("10s", "0.5s"), the
// form Istio's CRDs accept; Go's "1m0s" is not.
func protoDuration(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + "s"
}

// anyLocality reports whether one of the clusters has a locality.
func anyLocality(inv *inventory.Inventory, clusters []string) bool {
	for _, name := range clusters {
		if c := inv.Cluster(name); c != nil && c.Locality != nil && c.Locality.Region != "" {
			return true
		}
	}
	return false
}
