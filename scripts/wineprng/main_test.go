package main

import (
	"bytes"
	"debug/pe"
	"encoding/binary"
	"testing"
)

// The DLL is a PE32+ x86-64 DLL whose export directory names it and forwards its one export.
func TestForwarderDLL(t *testing.T) {
	b := forwarderDLL("bcryptprimitives.dll", "ProcessPrng", "advapi32.SystemFunction036")
	f, err := pe.NewFile(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	oh, ok := f.OptionalHeader.(*pe.OptionalHeader64)
	if f.Machine != pe.IMAGE_FILE_MACHINE_AMD64 || f.Characteristics&pe.IMAGE_FILE_DLL == 0 || !ok {
		t.Fatalf("machine %#x, characteristics %#x, optional header %T: want an x86-64 PE32+ DLL", f.Machine, f.Characteristics, f.OptionalHeader)
	}
	exp := oh.DataDirectory[pe.IMAGE_DIRECTORY_ENTRY_EXPORT]
	s := f.Section(".edata")
	if s == nil || exp.VirtualAddress != s.VirtualAddress || exp.Size != s.VirtualSize {
		t.Fatalf("export directory %+v, section %+v", exp, s)
	}
	data, err := s.Data()
	if err != nil {
		t.Fatal(err)
	}
	// str and u32 read a NUL-terminated string and a uint32 at an RVA inside the section.
	str := func(rva uint32) string {
		rest := data[rva-s.VirtualAddress:]
		return string(rest[:bytes.IndexByte(rest, 0)])
	}
	u32 := func(rva uint32) uint32 { return binary.LittleEndian.Uint32(data[rva-s.VirtualAddress:]) }
	dir := s.VirtualAddress
	name, nFuncs, nNames, funcs, names := u32(dir+12), u32(dir+20), u32(dir+24), u32(dir+28), u32(dir+32)
	if str(name) != "bcryptprimitives.dll" || nFuncs != 1 || nNames != 1 {
		t.Fatalf("export directory: name %q, %d functions, %d names", str(name), nFuncs, nNames)
	}
	fwd := u32(funcs)
	if fwd < exp.VirtualAddress || fwd >= exp.VirtualAddress+exp.Size {
		t.Fatalf("the export's address %#x is outside the export directory: code, not a forwarder", fwd)
	}
	if str(u32(names)) != "ProcessPrng" || str(fwd) != "advapi32.SystemFunction036" {
		t.Fatalf("export %q forwarded to %q", str(u32(names)), str(fwd))
	}
}
