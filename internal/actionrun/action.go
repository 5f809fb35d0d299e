package actionrun

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"
)

// This file reads action.yml.

type actionFile struct {
	Name        string                `yaml:"name"`
	Author      string                `yaml:"author"`
	Description string                `yaml:"description"`
	Inputs      map[string]inputSpec  `yaml:"inputs"`
	Outputs     map[string]outputSpec `yaml:"outputs"`
	Runs        struct {
		Using string     `yaml:"using"`
		Steps []stepSpec `yaml:"steps"`
	} `yaml:"runs"`
	Branding map[string]string `yaml:"branding"`
}

type inputSpec struct {
	Description        string `yaml:"description"`
	Required           bool   `yaml:"required"`
	Default            string `yaml:"default"`
	DeprecationMessage string `yaml:"deprecationMessage"`
}

type outputSpec struct {
	Description string `yaml:"description"`
	Value       string `yaml:"value"`
}

type stepSpec struct {
	ID               string            `yaml:"id"`
	Name             string            `yaml:"name"`
	If               string            `yaml:"if"`
	Run              string            `yaml:"run"`
	Shell            string            `yaml:"shell"`
	Uses             string            `yaml:"uses"`
	With             map[string]string `yaml:"with"`
	Env              map[string]string `yaml:"env"`
	WorkingDirectory string            `yaml:"working-directory"`
	ContinueOnError  string            `yaml:"continue-on-error"`
}

// load reads and checks actionDir/action.yml (or action.yaml).
func load(actionDir string) (*actionFile, error) {
	var data []byte
	var err error
	var path string
	for _, name := range []string{"action.yml", "action.yaml"} {
		path = filepath.Join(actionDir, name)
		if data, err = os.ReadFile(path); err == nil {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("read action: %w", err)
	}
	var kind struct {
		Runs struct {
			Using string `yaml:"using"`
		} `yaml:"runs"`
	}
	if err := yaml.Unmarshal(data, &kind); err != nil {
		return nil, fmt.Errorf("%s: %s", path, oneLine(err))
	}
	if kind.Runs.Using != "composite" {
		return nil, fmt.Errorf("%s: runs.using is %q; only composite actions run here", path, kind.Runs.Using)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	a := &actionFile{}
	if err := dec.Decode(a); err != nil {
		return nil, fmt.Errorf("%s: %s", path, oneLine(err))
	}
	for i, s := range a.Runs.Steps {
		switch {
		case (s.Run == "") == (s.Uses == ""):
			return nil, fmt.Errorf("%s: step %d: want exactly one of run and uses", path, i+1)
		case s.Run != "" && s.Shell == "":
			return nil, fmt.Errorf("%s: step %d: a composite action's run step needs a shell", path, i+1)
		}
	}
	return a, nil
}

// oneLine folds a multi-line error message into one line.
func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}
