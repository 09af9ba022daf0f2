package generator

import (
	"strings"
	"time"
)

// fluxDuration writes d the way Flux users write intervals: 10m, not 10m0s.
func fluxDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
