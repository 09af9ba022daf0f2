// Package fluxhealth computes the health Flux's kustomize-controller gives a
// resource that a Kustomization with spec.wait and spec.healthCheckExprs
// applied, with Flux's own code rather than a copy of it: the status poller
// (github.com/fluxcd/cli-utils kstatus) built the way kustomize-controller
// v1.9.6 builds it (getClientAndPoller: the custom Job status reader of
// github.com/fluxcd/pkg/runtime/statusreaders, then the CEL status reader
// that github.com/fluxcd/pkg/runtime/cel NewStatusReader makes from the
// health check expressions), at the versions kustomize-controller v1.9.6
// requires (fluxcd/pkg/runtime v0.110.3, fluxcd/cli-utils v1.2.3).
//
// Only the API server is replaced: the poller reads the object from an
// in-memory cluster reader that holds the one manifest, decoded the way
// client-go decodes the API server's JSON (integers as int64).
package fluxhealth

import (
	"context"
	"fmt"
	"time"

	"github.com/fluxcd/cli-utils/pkg/kstatus/polling"
	"github.com/fluxcd/cli-utils/pkg/kstatus/polling/engine"
	"github.com/fluxcd/cli-utils/pkg/kstatus/polling/event"
	"github.com/fluxcd/cli-utils/pkg/kstatus/status"
	"github.com/fluxcd/cli-utils/pkg/object"
	"github.com/fluxcd/pkg/apis/kustomize"
	fluxcel "github.com/fluxcd/pkg/runtime/cel"
	"github.com/fluxcd/pkg/runtime/statusreaders"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
)

// Check is one entry of a Kustomization's spec.healthCheckExprs, Flux's
// own API type.
type Check = kustomize.CustomHealthCheck

// Result is the status Flux's poller reports for the resource (kstatus
// Current, InProgress, Failed, or Unknown when a health check expression
// cannot be evaluated yet, which Flux treats as not ready and polls again)
// and, for Unknown, the evaluation error.
type Result struct {
	Status status.Status
	Err    error
}

// Poll returns the first status Flux's status poller reports for the
// resource in manifest (YAML or JSON, as the API server serves it, with
// metadata.generation and status) under the health checks of a
// Kustomization. An error is a health check Flux refuses to run (for
// example an expression that does not parse: kustomize-controller stalls
// the Kustomization with InvalidCELExpression) or a manifest that is not a
// Kubernetes object.
func Poll(checks []Check, manifest []byte) (Result, error) {
	newCELReader, err := fluxcel.NewStatusReader(checks)
	if err != nil {
		return Result{}, err
	}
	js, err := yaml.YAMLToJSON(manifest)
	if err != nil {
		return Result{}, err
	}
	obj := &unstructured.Unstructured{}
	if err := obj.UnmarshalJSON(js); err != nil {
		return Result{}, err
	}
	scope := meta.RESTScopeRoot
	if obj.GetNamespace() != "" {
		scope = meta.RESTScopeNamespace
	}
	mapper := meta.NewDefaultRESTMapper([]schema.GroupVersion{obj.GroupVersionKind().GroupVersion()})
	mapper.Add(obj.GroupVersionKind(), scope)

	// As kustomize-controller's getClientAndPoller.
	poller := polling.NewStatusPoller(nil, mapper, polling.Options{
		CustomStatusReaders: []engine.StatusReader{
			statusreaders.NewCustomJobStatusReader(mapper),
			newCELReader(mapper),
		},
		ClusterReaderFactory: engine.ClusterReaderFactoryFunc(
			func(client.Reader, meta.RESTMapper, object.ObjMetadataSet) (engine.ClusterReader, error) {
				return apiServer{obj}, nil
			}),
	})

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	id := object.UnstructuredToObjMetadata(obj)
	events := poller.Poll(ctx, object.ObjMetadataSet{id}, polling.PollOptions{PollInterval: time.Second})
	defer func() {
		cancel()
		for range events {
		}
	}()
	for ev := range events {
		switch ev.Type {
		case event.ErrorEvent:
			return Result{}, ev.Error
		case event.ResourceUpdateEvent:
			if ev.Resource.Identifier == id {
				return Result{Status: ev.Resource.Status, Err: ev.Resource.Error}, nil
			}
		}
	}
	return Result{}, fmt.Errorf("%s: Flux's status poller reported no status: %v", id, ctx.Err())
}

// apiServer serves the one object the poller asks for.
type apiServer struct{ obj *unstructured.Unstructured }

func (a apiServer) Get(_ context.Context, key client.ObjectKey, obj *unstructured.Unstructured) error {
	if obj.GroupVersionKind() != a.obj.GroupVersionKind() || key.Name != a.obj.GetName() || key.Namespace != a.obj.GetNamespace() {
		gk := obj.GroupVersionKind().GroupKind()
		return apierrors.NewNotFound(schema.GroupResource{Group: gk.Group, Resource: gk.Kind}, key.Name)
	}
	a.obj.DeepCopyInto(obj)
	return nil
}

func (apiServer) ListNamespaceScoped(context.Context, *unstructured.UnstructuredList, string, labels.Selector) error {
	return nil
}

func (apiServer) ListClusterScoped(context.Context, *unstructured.UnstructuredList, labels.Selector) error {
	return nil
}

func (apiServer) Sync(context.Context) error { return nil }
