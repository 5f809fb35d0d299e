package filter

import (
	"testing"

	"golang.org/x/net/bpf"
)

// TestJumpReach places a test's targets at every distance around the
// 255-instruction reach of a conditional jump and follows the emitted
// jumps (through any unconditional ones) to check where they land.
func TestJumpReach(t *testing.T) {
	const filler = 600
	for _, dt := range []int{0, 1, 200, 253, 254, 255, 256, 257, 400, 599} {
		for _, df := range []int{0, 1, 200, 253, 254, 255, 256, 257, 400, 599} {
			if dt == df {
				continue
			}
			var b builder
			// Markers: RetConstant with the marker's index in rev.
			for i := range filler {
				b.emit(bpf.RetConstant{Val: uint32(i)})
			}
			tIdx, fIdx := filler-1-dt, filler-1-df
			b.atom(atom{size: 1, off: 0, cond: bpf.JumpEqual, val: 1}, tIdx, fIdx)
			if b.err != nil {
				t.Fatalf("dt=%d df=%d: %v", dt, df, b.err)
			}
			prog := make([]bpf.Instruction, len(b.rev))
			for i, ins := range b.rev {
				prog[len(b.rev)-1-i] = ins
			}
			if _, err := bpf.NewVM(prog); err != nil {
				t.Fatalf("dt=%d df=%d: %v", dt, df, err)
			}
			// Run the program on a packet whose first byte is 1 (true)
			// and 0 (false): the returned marker is where it landed.
			vm, _ := bpf.NewVM(prog)
			for _, c := range []struct {
				b    byte
				want int
			}{{1, tIdx}, {0, fIdx}} {
				got, err := vm.Run([]byte{c.b})
				if err != nil || got != c.want {
					t.Errorf("dt=%d df=%d, byte %d: landed on marker %d (%v), want %d", dt, df, c.b, got, err, c.want)
				}
			}
		}
	}
}

func TestCompileNetworkErrors(t *testing.T) {
	e, err := Parse("tcp")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.CompileNetwork(0); err == nil || err.Error() != "filter: snaplen must be positive" {
		t.Errorf("snaplen 0: err = %v", err)
	}
	// The empty filter keeps IPv4 and IPv6 and nothing else.
	var none *Expr
	raw, err := none.CompileNetwork(96)
	if err != nil {
		t.Fatal(err)
	}
	ins, _ := bpf.Disassemble(raw)
	vm, err := bpf.NewVM(ins)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		first byte
		want  int
	}{{0x45, 96}, {0x60, 96}, {0x00, 0}, {0x50, 0}, {0xf4, 0}} {
		if got, _ := vm.Run([]byte{c.first, 0, 0, 0}); got != c.want {
			t.Errorf("first byte %#x: program returns %d, want %d", c.first, got, c.want)
		}
	}
}
