// Package fluxhealth evaluates the health check expressions of generated
// Flux Kustomizations (spec.healthCheckExprs) as Flux's kustomize-controller
// does (fluxcd/pkg/runtime/cel, StatusEvaluator): first the generic check
// that status.observedGeneration, where present, equals metadata.generation,
// then the inProgress, failed and current expressions, in that order, each
// parsed (not compiled) in the CEL environment Flux builds and evaluated
// with the object's top-level fields as variables. An expression that
// cannot be evaluated (a field the object does not have yet) is an error,
// which Flux's poller reports as an unknown status and polls again: the
// resource is not current.
package fluxhealth

import (
	"context"
	"fmt"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/ext"
)

// Status is the health Flux computes for a resource.
type Status string

// The statuses of kstatus that a health check expression can give.
const (
	Current    Status = "Current"
	InProgress Status = "InProgress"
	Failed     Status = "Failed"
	// Unknown is an expression that does not evaluate; Flux keeps waiting.
	Unknown Status = "Unknown"
)

// Check is one entry of a Kustomization's spec.healthCheckExprs.
type Check struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Current    string `json:"current"`
	InProgress string `json:"inProgress"`
	Failed     string `json:"failed"`
}

// Evaluate returns the status Flux gives obj under check.
func Evaluate(check Check, obj map[string]any) (Status, error) {
	if st, ok := obj["status"].(map[string]any); ok {
		if og, ok := number(st["observedGeneration"]); ok {
			if md, ok := obj["metadata"].(map[string]any); ok {
				if g, ok := number(md["generation"]); ok && g != og {
					return InProgress, nil
				}
			}
		}
	}
	if check.Current == "" {
		return "", fmt.Errorf("expression current not specified")
	}
	for _, e := range []struct {
		expr   string
		status Status
	}{{check.InProgress, InProgress}, {check.Failed, Failed}, {check.Current, Current}} {
		if e.expr == "" {
			continue
		}
		prog, err := program(e.expr)
		if err != nil {
			return "", err
		}
		val, _, err := prog.ContextEval(context.Background(), obj)
		if err != nil {
			return Unknown, nil
		}
		b, ok := val.(types.Bool)
		if !ok {
			return "", fmt.Errorf("%s: not a boolean", e.expr)
		}
		if b {
			return e.status, nil
		}
	}
	return InProgress, nil
}

// program parses expr in the environment of fluxcd/pkg/runtime/cel's
// NewExpression.
func program(expr string) (cel.Program, error) {
	env, err := cel.NewEnv(
		cel.HomogeneousAggregateLiterals(),
		cel.EagerlyValidateDeclarations(true),
		cel.DefaultUTCTimeZone(true),
		cel.CrossTypeNumericComparisons(true),
		cel.OptionalTypes(),
		ext.Strings(),
		ext.Sets(),
		ext.Encoders(),
	)
	if err != nil {
		return nil, err
	}
	ast, iss := env.Parse(expr)
	if iss != nil && iss.Err() != nil {
		return nil, fmt.Errorf("%s: %v", expr, iss.Err())
	}
	return env.Program(ast, cel.EvalOptions(cel.OptOptimize), cel.InterruptCheckFrequency(100))
}

func number(v any) (int64, bool) {
	switch n := v.(type) {
	case int64:
		return n, true
	case int:
		return int64(n), true
	case float64:
		return int64(n), true
	}
	return 0, false
}
