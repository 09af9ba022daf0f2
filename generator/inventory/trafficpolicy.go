package inventory

import (
	"fmt"
	"regexp"
	"time"
)

// Failover modes of a traffic policy.
const (
	FailoverLocality = "locality"
	FailoverNone     = "none"
)

// Default outlier detection with failover locality: Istio fails over to
// another locality only once outlier detection has ejected the endpoints of
// the nearer one.
const (
	DefaultConsecutive5xxErrors = 5
	DefaultOutlierInterval      = 10 * time.Second
	DefaultBaseEjectionTime     = 30 * time.Second
	DefaultMaxEjectionPercent   = 100
)

// Policy is the traffic policy that applies to one service: its own
// fields, then mesh.trafficPolicy's, then the documented defaults.
type Policy struct {
	// Failover is FailoverLocality or FailoverNone.
	Failover         string
	FailoverPriority []string
	// Outlier is nil when no outlier detection applies.
	Outlier *Outlier
}

// Outlier is outlier detection with every default applied.
type Outlier struct {
	Consecutive5xxErrors int
	Interval             time.Duration
	BaseEjectionTime     time.Duration
	MaxEjectionPercent   int
}

// PolicyOf returns the traffic policy of s.
func (inv *Inventory) PolicyOf(s *Service) Policy {
	var own, mesh TrafficPolicy
	if s.TrafficPolicy != nil {
		own = *s.TrafficPolicy
	}
	if inv.Mesh.TrafficPolicy != nil {
		mesh = *inv.Mesh.TrafficPolicy
	}
	p := Policy{Failover: own.Failover, FailoverPriority: own.FailoverPriority}
	if p.Failover == "" {
		p.Failover = mesh.Failover
	}
	if p.FailoverPriority == nil {
		p.FailoverPriority = mesh.FailoverPriority
	}
	if p.Failover == "" {
		p.Failover = FailoverNone
		if inv.allHaveLocality(s.Clusters) {
			p.Failover = FailoverLocality
		}
	}
	od := own.OutlierDetection
	if od == nil {
		od = mesh.OutlierDetection
	}
	if od == nil && p.Failover == FailoverLocality {
		od = &OutlierDetection{}
	}
	if od != nil {
		o := &Outlier{
			Consecutive5xxErrors: DefaultConsecutive5xxErrors,
			Interval:             DefaultOutlierInterval,
			BaseEjectionTime:     DefaultBaseEjectionTime,
			MaxEjectionPercent:   DefaultMaxEjectionPercent,
		}
		if od.Consecutive5xxErrors != nil {
			o.Consecutive5xxErrors = *od.Consecutive5xxErrors
		}
		if od.Interval.Duration != 0 {
			o.Interval = od.Interval.Duration
		}
		if od.BaseEjectionTime.Duration != 0 {
			o.BaseEjectionTime = od.BaseEjectionTime.Duration
		}
		if od.MaxEjectionPercent != nil {
			o.MaxEjectionPercent = *od.MaxEjectionPercent
		}
		p.Outlier = o
	}
	return p
}

func (inv *Inventory) allHaveLocality(clusters []string) bool {
	if len(clusters) == 0 {
		return false
	}
	for _, name := range clusters {
		c := inv.Cluster(name)
		if c == nil || c.Locality == nil || c.Locality.Region == "" {
			return false
		}
	}
	return true
}

// labelKey is a Kubernetes label key: an optional DNS prefix and a name.
var labelKey = regexp.MustCompile(`^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$`)

// trafficPolicy checks one trafficPolicy block at path p; clusters are the
// clusters it applies to (nil for the mesh-wide default).
func (v *validator) trafficPolicy(p string, tp *TrafficPolicy, clusters []string) {
	if tp == nil {
		return
	}
	if tp.Failover != "" {
		v.oneOf(p+".failover", tp.Failover, FailoverLocality, FailoverNone)
	}
	seen := map[string]bool{}
	for i, k := range tp.FailoverPriority {
		kp := fmt.Sprintf("%s.failoverPriority[%d]", p, i)
		switch {
		case !labelKey.MatchString(k) || len(k) > 316:
			v.errorf(kp, "%q is not a label key such as topology.kubernetes.io/region", k)
		case seen[k]:
			v.errorf(kp, "duplicate label %q", k)
		}
		seen[k] = true
	}
	if od := tp.OutlierDetection; od != nil {
		op := p + ".outlierDetection"
		if n := od.Consecutive5xxErrors; n != nil && *n < 0 {
			v.errorf(op+".consecutive5xxErrors", "%d is negative (0 disables it)", *n)
		}
		for _, f := range []struct {
			name string
			d    Duration
		}{{"interval", od.Interval}, {"baseEjectionTime", od.BaseEjectionTime}} {
			if !v.inv.Has(op + "." + f.name) {
				continue
			}
			switch d := f.d.Duration; {
			case d < time.Millisecond:
				v.errorf(op+"."+f.name, "%s is shorter than Istio's minimum of 1ms", f.d)
			case d%time.Millisecond != 0:
				v.errorf(op+"."+f.name, "%s is finer than the millisecond precision Istio accepts", f.d)
			}
		}
		if n := od.MaxEjectionPercent; n != nil && (*n < 0 || *n > 100) {
			v.errorf(op+".maxEjectionPercent", "%d is not a percentage (0-100)", *n)
		}
	}
}

// trafficPolicies checks mesh.trafficPolicy and every service's, and that
// locality failover is asked only where the endpoints have localities.
func (v *validator) trafficPolicies() {
	inv := v.inv
	v.trafficPolicy("mesh.trafficPolicy", inv.Mesh.TrafficPolicy, nil)
	for i := range inv.Services {
		s := &inv.Services[i]
		p := fmt.Sprintf("services[%d].trafficPolicy", i)
		v.trafficPolicy(p, s.TrafficPolicy, s.Clusters)
		pol := inv.PolicyOf(s)
		at := ""
		switch {
		case s.TrafficPolicy != nil && s.TrafficPolicy.Failover == FailoverLocality:
			at = p + ".failover"
		case (s.TrafficPolicy == nil || s.TrafficPolicy.Failover == "") && inv.Mesh.TrafficPolicy != nil && inv.Mesh.TrafficPolicy.Failover == FailoverLocality:
			at = fmt.Sprintf("services[%d].clusters", i)
		}
		if at != "" && pol.Failover == FailoverLocality {
			for _, name := range s.Clusters {
				if c := inv.Cluster(name); c != nil && (c.Locality == nil || c.Locality.Region == "") {
					v.errorf(at, "locality failover for %s.%s needs a locality on every cluster it runs in; cluster %s has none (set clusters[].locality, or failover: none)", s.Name, s.Namespace, name)
					break
				}
			}
		}
		if len(pol.FailoverPriority) > 0 && pol.Failover != FailoverLocality {
			fp := p + ".failoverPriority"
			if s.TrafficPolicy == nil || s.TrafficPolicy.FailoverPriority == nil {
				fp = p
			}
			v.errorf(fp, "failoverPriority needs failover: locality (%s.%s has failover: none)", s.Name, s.Namespace)
		}
	}
}
