package generator

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// ReleaseChange is one istiod HelmRelease that differs between two trees,
// for `meshgen diff`: a revision added, retagged, upgraded in place or
// removed. Its JSON field names are a stable interface.
type ReleaseChange struct {
	Cluster string `json:"cluster"`
	Release string `json:"release"`
	// Change is added, removed, retagged or upgraded in place.
	Change string `json:"change"`
	// Before and After are the release in the prior and the new tree; one
	// is absent when the release is added or removed.
	Before *IstiodRelease `json:"before,omitempty"`
	After  *IstiodRelease `json:"after,omitempty"`
}

// IstiodRelease is what a review needs of one istiod HelmRelease.
type IstiodRelease struct {
	Revision string   `json:"revision,omitempty"`
	Version  string   `json:"version"`
	Tags     []string `json:"tags,omitempty"`
}

func (r *IstiodRelease) String() string {
	rev := r.Revision
	if rev == "" {
		rev = "(unnamed)"
	}
	s := "revision " + rev + ", " + r.Version
	if len(r.Tags) > 0 {
		s += ", tags " + strings.Join(r.Tags, ",")
	}
	return s
}

// String is the summary line: "istiod-1-28-2 in east-1: added (revision
// 1-28-2, 1.28.2, tags canary)".
func (c ReleaseChange) String() string {
	switch c.Change {
	case "added":
		return fmt.Sprintf("%s in %s: added (%s)", c.Release, c.Cluster, c.After)
	case "removed":
		return fmt.Sprintf("%s in %s: removed (%s)", c.Release, c.Cluster, c.Before)
	case "retagged":
		return fmt.Sprintf("%s in %s: retagged (tags %s -> %s)", c.Release, c.Cluster, tagList(c.Before.Tags), tagList(c.After.Tags))
	}
	return fmt.Sprintf("%s in %s: %s (%s -> %s)", c.Release, c.Cluster, c.Change, c.Before, c.After)
}

func tagList(tags []string) string {
	if len(tags) == 0 {
		return "none"
	}
	return strings.Join(tags, ",")
}

// CompareReleases lists the istiod releases that differ between two trees
// (files by path), sorted by cluster and release. A release whose values
// change otherwise (mesh config, networks) is no revision change and is
// left out; the file diff shows it.
func CompareReleases(before, after map[string][]byte) ([]ReleaseChange, error) {
	b, err := istiodReleasesOf(before)
	if err != nil {
		return nil, err
	}
	a, err := istiodReleasesOf(after)
	if err != nil {
		return nil, err
	}
	keys := map[[2]string]bool{}
	for k := range b {
		keys[k] = true
	}
	for k := range a {
		keys[k] = true
	}
	var out []ReleaseChange
	for k := range keys {
		old, cur := b[k], a[k]
		c := ReleaseChange{Cluster: k[0], Release: k[1], Before: old, After: cur}
		switch {
		case old == nil:
			c.Change = "added"
		case cur == nil:
			c.Change = "removed"
		case old.Revision != cur.Revision:
			c.Change = "reinstalled as another revision"
		case old.Version != cur.Version:
			c.Change = "upgraded in place"
		case !slices.Equal(old.Tags, cur.Tags):
			c.Change = "retagged"
		default:
			continue
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Cluster != out[j].Cluster {
			return out[i].Cluster < out[j].Cluster
		}
		return out[i].Release < out[j].Release
	})
	return out, nil
}

// istiodReleasesOf reads the istiod HelmReleases of every overlay's install
// stage, by cluster and release name, and with installer sail the Istio
// resources, as releases named Istio/<name>.
func istiodReleasesOf(files map[string][]byte) (map[[2]string]*IstiodRelease, error) {
	out := map[[2]string]*IstiodRelease{}
	for p, data := range files {
		dir, name := path.Split(p)
		if (name != helmReleasesFile && name != sailFile) || !strings.HasPrefix(dir, overlaysDir+"/") || path.Base(dir) != installStage {
			continue
		}
		cluster := path.Base(path.Dir(path.Clean(dir)))
		if name == sailFile {
			if err := sailReleasesOf(p, cluster, data, out); err != nil {
				return nil, err
			}
			continue
		}
		type release struct {
			Kind     string `yaml:"kind"`
			Metadata struct {
				Name string `yaml:"name"`
			} `yaml:"metadata"`
			Spec struct {
				Chart struct {
					Spec struct {
						Chart   string `yaml:"chart"`
						Version string `yaml:"version"`
					} `yaml:"spec"`
				} `yaml:"chart"`
				Values struct {
					Revision     string   `yaml:"revision"`
					RevisionTags []string `yaml:"revisionTags"`
				} `yaml:"values"`
			} `yaml:"spec"`
		}
		hrs, err := decodeDocs[release](p, data)
		if err != nil {
			return nil, err
		}
		for _, hr := range hrs {
			if hr.Kind != "HelmRelease" || hr.Spec.Chart.Spec.Chart != "istiod" {
				continue
			}
			tags := slices.Clone(hr.Spec.Values.RevisionTags)
			sort.Strings(tags)
			out[[2]string{cluster, hr.Metadata.Name}] = &IstiodRelease{
				Revision: hr.Spec.Values.Revision,
				Version:  hr.Spec.Chart.Spec.Version,
				Tags:     tags,
			}
		}
	}
	return out, nil
}

// sailReleasesOf reads a cluster's Sail resources as istiod releases: each
// Istio resource is the revision Sail installs from it (its name, "" for
// default), at its version, with the IstioRevisionTags that target it.
func sailReleasesOf(p, cluster string, data []byte, out map[[2]string]*IstiodRelease) error {
	type resource struct {
		Kind     string `yaml:"kind"`
		Metadata struct {
			Name string `yaml:"name"`
		} `yaml:"metadata"`
		Spec struct {
			Version   string `yaml:"version"`
			TargetRef struct {
				Name string `yaml:"name"`
			} `yaml:"targetRef"`
		} `yaml:"spec"`
	}
	rs, err := decodeDocs[resource](p, data)
	if err != nil {
		return err
	}
	var istios []resource
	tags := map[string][]string{}
	for _, r := range rs {
		switch r.Kind {
		case "Istio":
			istios = append(istios, r)
		case "IstioRevisionTag":
			tags[r.Spec.TargetRef.Name] = append(tags[r.Spec.TargetRef.Name], r.Metadata.Name)
		}
	}
	for _, is := range istios {
		rev := is.Metadata.Name
		if rev == sailDefaultName {
			rev = ""
		}
		t := tags[is.Metadata.Name]
		sort.Strings(t)
		out[[2]string{cluster, "Istio/" + is.Metadata.Name}] = &IstiodRelease{
			Revision: rev,
			Version:  strings.TrimPrefix(is.Spec.Version, "v"),
			Tags:     t,
		}
	}
	return nil
}

// decodeDocs decodes every document of the YAML stream of file p.
func decodeDocs[T any](p string, data []byte) ([]T, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var out []T
	for {
		var doc T
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %v", p, err)
		}
		out = append(out, doc)
	}
}
