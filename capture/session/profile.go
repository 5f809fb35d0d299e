package session

import (
	"fmt"
	"os"
	"runtime/pprof"
)

// profileEnv names a file that receives a CPU profile of the whole capture
// when set: SPECGATE_CPUPROFILE=cpu.out specgate capture ...; then
// 'go tool pprof specgate cpu.out'. It is for measuring specgate's own
// cost on real traffic, where a test benchmark cannot reproduce the mix.
const profileEnv = "SPECGATE_CPUPROFILE"

// startProfile starts the CPU profile that profileEnv asks for and returns
// the function that stops it; without the variable it does nothing.
func startProfile() (stop func(), err error) {
	path := os.Getenv(profileEnv)
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", profileEnv, err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", profileEnv, err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}
