// Command argocd-lua-health runs Argo CD resource health scripts the way Argo CD
// does, so the project can test its scripts and its argocd-cm snippet against
// the interpreter Argo CD really uses instead of a stand-alone Lua 5.1.
//
// It reads an argocd-cm ConfigMap (YAML, as applied to the cluster), then a
// stream of JSON objects on stdin, and prints one JSON line per object:
//
//	{"status":"Healthy","message":"..."}
//	{"status":"Unknown","message":"<lua error>","error":"<lua error>"}
//
// What it reproduces from Argo CD (util/settings and util/lua, read at the
// version whose go.mod pins gopher-lua as go.mod here does):
//   - the split keys resource.customizations.health.<group>_<kind> and
//     resource.customizations.useOpenLibs.<group>_<kind> (strconv.ParseBool,
//     an unparsable value is an error, as in Argo CD);
//   - a VM created with SkipOpenLibs unless useOpenLibs is true, then the
//     package, base and table libraries opened and a reduced os library
//     offering only os.time and os.date, a one-second deadline, the object
//     in the global `obj` decoded from JSON the way unstructured objects are
//     (integers as int64, other numbers as float64);
//   - the returned table encoded with gopher-json and read as {status,
//     message}; a status outside Argo CD's codes becomes Unknown with
//     "Lua returned an invalid health status"; a script error becomes Unknown
//     with the error as the message (what the Application view shows).
//
// Not reproduced: wildcard keys, the legacy single resource.customizations
// key, built-in scripts (which Argo CD always runs with open libraries).
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"
	luajson "layeh.com/gopher-json"
	"sigs.k8s.io/yaml"
)

const customizationsPrefix = "resource.customizations."

// healthCodes are the statuses Argo CD accepts from a health script.
var healthCodes = map[string]bool{
	"Unknown": true, "Progressing": true, "Suspended": true,
	"Healthy": true, "Degraded": true, "Missing": true,
}

type override struct {
	healthLua   string
	useOpenLibs bool
}

type result struct {
	Status  string `json:"status"`
	Message string `json:"message"`
	Error   string `json:"error,omitempty"`
}

func main() {
	configMap := flag.String("configmap", "", "argocd-cm ConfigMap manifest (YAML)")
	flag.Parse()
	if *configMap == "" {
		fmt.Fprintln(os.Stderr, "usage: argocd-lua-health --configmap argocd-cm.yaml < objects.json")
		os.Exit(2)
	}
	overrides, err := readOverrides(*configMap)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", *configMap, err)
		os.Exit(1)
	}
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false) // messages stay readable: <string>:14: ...
	dec := json.NewDecoder(bufio.NewReader(os.Stdin))
	dec.UseNumber()
	for {
		var raw map[string]any
		if err := dec.Decode(&raw); errors.Is(err, io.EOF) {
			return
		} else if err != nil {
			fmt.Fprintf(os.Stderr, "stdin: %v\n", err)
			os.Exit(1)
		}
		obj := unstructuredNumbers(raw).(map[string]any)
		if err := enc.Encode(health(overrides, obj)); err != nil {
			fmt.Fprintf(os.Stderr, "stdout: %v\n", err)
			os.Exit(1)
		}
	}
}

// readOverrides parses the ConfigMap's data keys into group/kind overrides.
func readOverrides(path string) (map[string]override, error) {
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var cm struct {
		Kind string            `json:"kind"`
		Data map[string]string `json:"data"`
	}
	if err := yaml.Unmarshal(text, &cm); err != nil {
		return nil, err
	}
	if cm.Kind != "ConfigMap" {
		return nil, fmt.Errorf("kind is %q, not ConfigMap", cm.Kind)
	}
	overrides := map[string]override{}
	for key, value := range cm.Data {
		if !strings.HasPrefix(key, customizationsPrefix) {
			continue
		}
		parts := strings.SplitN(key, ".", 4)
		if len(parts) < 4 {
			continue
		}
		groupKind, err := overrideKey(parts[3])
		if err != nil {
			return nil, err
		}
		o := overrides[groupKind]
		switch parts[2] {
		case "health":
			o.healthLua = value
		case "useOpenLibs":
			if o.useOpenLibs, err = strconv.ParseBool(value); err != nil {
				return nil, fmt.Errorf("%s: %w", key, err)
			}
		case "actions", "ignoreDifferences", "ignoreResourceUpdates", "knownTypeFields":
			// Valid in Argo CD, irrelevant to health.
		default:
			return nil, fmt.Errorf("resource customization type %s not supported", parts[2])
		}
		overrides[groupKind] = o
	}
	return overrides, nil
}

// overrideKey turns "okr.dev_KeyResult" into "okr.dev/KeyResult".
func overrideKey(groupKind string) (string, error) {
	parts := strings.Split(groupKind, "_")
	switch {
	case len(parts) == 2:
		return parts[0] + "/" + parts[1], nil
	case len(parts) == 1 && groupKind != "":
		return groupKind, nil
	}
	return "", fmt.Errorf("group kind should be <group>_<kind> or <kind>, got %q", groupKind)
}

func health(overrides map[string]override, obj map[string]any) result {
	apiVersion, _ := obj["apiVersion"].(string)
	kind, _ := obj["kind"].(string)
	key := kind
	if group, _, found := strings.Cut(apiVersion, "/"); found {
		key = group + "/" + kind
	}
	o, ok := overrides[key]
	if !ok || o.healthLua == "" {
		msg := "no health script for " + key
		return result{Status: "", Message: msg, Error: msg}
	}
	status, err := run(o, obj)
	if err != nil {
		return result{Status: "Unknown", Message: err.Error(), Error: err.Error()}
	}
	return status
}

func run(o override, obj map[string]any) (result, error) {
	l := lua.NewState(lua.Options{SkipOpenLibs: !o.useOpenLibs})
	defer l.Close()
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{
		{lua.LoadLibName, lua.OpenPackage},
		{lua.BaseLibName, lua.OpenBase},
		{lua.TabLibName, lua.OpenTable},
		{lua.OsLibName, openReducedOs},
	} {
		if err := l.CallByParam(lua.P{Fn: l.NewFunction(lib.open), NRet: 0, Protect: true}, lua.LString(lib.name)); err != nil {
			return result{}, err
		}
	}
	l.PreloadModule(lua.OsLibName, func(l *lua.LState) int {
		l.Push(l.SetFuncs(l.NewTable(), reducedOs))
		return 1
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	l.SetContext(ctx)
	l.SetGlobal("actionParams", l.NewTable())
	l.SetGlobal("obj", toLua(l, obj))

	fn, err := l.LoadString(o.healthLua)
	if err == nil {
		l.Push(fn)
		err = l.PCall(0, lua.MultRet, nil)
	}
	var apiErr *lua.ApiError
	if errors.As(err, &apiErr) && apiErr.Type == lua.ApiErrorRun {
		apiErr.StackTrace = "" // Argo CD drops it from what users see
		err = apiErr
	}
	if err != nil {
		return result{}, err
	}

	returned := l.Get(-1)
	switch returned.Type() {
	case lua.LTNil:
		return result{}, nil
	case lua.LTTable:
	default:
		return result{}, fmt.Errorf("expect table output from Lua script, not %s", returned.Type())
	}
	encoded, err := luajson.Encode(returned)
	if err != nil {
		return result{}, err
	}
	var hs result
	if err := json.Unmarshal(encoded, &hs); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Value == "array" {
			return result{}, nil // an empty table encodes as []
		}
		return result{}, err
	}
	if !healthCodes[hs.Status] {
		return result{Status: "Unknown", Message: "Lua returned an invalid health status"}, nil
	}
	return hs, nil
}

// reducedOs is the part of the os library Argo CD offers scripts: no exit,
// no files, no environment.
var reducedOs = map[string]lua.LGFunction{
	"time": func(l *lua.LState) int {
		l.Push(lua.LNumber(time.Now().Unix()))
		return 1
	},
	"date": func(l *lua.LState) int {
		l.Push(lua.LString(time.Now().UTC().Format(time.RFC3339)))
		return 1
	},
}

func openReducedOs(l *lua.LState) int {
	l.Push(l.RegisterModule(lua.OsLibName, reducedOs))
	return 1
}

// unstructuredNumbers converts json.Number the way Kubernetes' unstructured
// decoding does: integers become int64, everything else float64.
func unstructuredNumbers(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, item := range v {
			v[k] = unstructuredNumbers(item)
		}
		return v
	case []any:
		for i, item := range v {
			v[i] = unstructuredNumbers(item)
		}
		return v
	case json.Number:
		if i, err := v.Int64(); err == nil {
			return i
		}
		f, _ := v.Float64()
		return f
	}
	return v
}

// toLua builds the Lua value Argo CD hands a script for a decoded object.
func toLua(l *lua.LState, v any) lua.LValue {
	switch v := v.(type) {
	case bool:
		return lua.LBool(v)
	case float64:
		return lua.LNumber(v)
	case int64:
		return lua.LNumber(v)
	case string:
		return lua.LString(v)
	case []any:
		t := l.CreateTable(len(v), 0)
		for _, item := range v {
			t.Append(toLua(l, item))
		}
		return t
	case map[string]any:
		t := l.CreateTable(0, len(v))
		for k, item := range v {
			t.RawSetH(lua.LString(k), toLua(l, item))
		}
		return t
	}
	return lua.LNil
}
