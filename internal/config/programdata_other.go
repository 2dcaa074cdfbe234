//go:build !windows

package config

// programData: only Windows has a ProgramData folder; PathsFor ignores it elsewhere.
func programData() string { return "" }
