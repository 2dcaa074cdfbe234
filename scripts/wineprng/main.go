// Command wineprng writes bcryptprimitives.dll for a Wine older than 9: a DLL with no code whose
// one export, ProcessPrng, is forwarded to advapi32's SystemFunction036 (RtlGenRandom).
//
// Go programs for Windows (since Go 1.22) load bcryptprimitives.dll!ProcessPrng before main and
// die with "bcryptprimitives.dll not found" where it is missing, as in Debian bookworm's Wine 8.0.
// RtlGenRandom takes the same two arguments (a buffer and its length) and returns a BOOLEAN, which is
// all the runtime reads of ProcessPrng's BOOL. scripts/wine-test.sh puts the file in the prefix's
// system32; nothing shipped uses it.
//
// Usage: go run ./scripts/wineprng PATH
package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: wineprng PATH")
		os.Exit(2)
	}
	if err := os.WriteFile(os.Args[1], forwarderDLL("bcryptprimitives.dll", "ProcessPrng", "advapi32.SystemFunction036"), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "wineprng:", err)
		os.Exit(1)
	}
}

// The image's layout: headers in the first file block, the export section in the second, mapped at
// the first page after the headers.
const (
	fileAlign    = 0x200
	sectionAlign = 0x1000
	edataRVA     = sectionAlign
	edataOffset  = fileAlign
)

// forwarderDLL is a PE32+ (x86-64) DLL named dll exporting name as a forwarder to target
// ("module.function"). A forwarded export needs no code, no entry point and no relocations: the
// export address table holds the RVA of the target's name inside the export section, which is
// how the loader tells a forwarder from code.
func forwarderDLL(dll, name, target string) []byte {
	// The export section: directory (40 bytes), address table, name table, ordinal table, strings.
	const dirSize = 40
	eat := edataRVA + dirSize
	names := eat + 4
	ordinals := names + 4
	dllName := ordinals + 2
	funcName := dllName + len(dll) + 1
	fwd := funcName + len(name) + 1
	end := fwd + len(target) + 1

	var e bytes.Buffer
	put := func(v any) { binary.Write(&e, binary.LittleEndian, v) }
	put(struct {
		Characteristics, TimeDateStamp uint32
		MajorVersion, MinorVersion     uint16
		Name, Base, NFunctions, NNames uint32
		Functions, Names, NameOrdinals uint32
	}{Name: uint32(dllName), Base: 1, NFunctions: 1, NNames: 1,
		Functions: uint32(eat), Names: uint32(names), NameOrdinals: uint32(ordinals)})
	put(uint32(fwd))      // the address table's one entry: a forwarder
	put(uint32(funcName)) // the name table's one entry
	put(uint16(0))        // its ordinal, less Base
	for _, s := range []string{dll, name, target} {
		e.WriteString(s)
		e.WriteByte(0)
	}
	edataSize := end - edataRVA

	var f bytes.Buffer
	w := func(v any) { binary.Write(&f, binary.LittleEndian, v) }
	// DOS header: the magic and, at 0x3c, where the PE header starts.
	dos := make([]byte, 0x40)
	copy(dos, "MZ")
	binary.LittleEndian.PutUint32(dos[0x3c:], 0x40)
	f.Write(dos)
	f.WriteString("PE\x00\x00")
	const optSize = 112 + 16*8
	w(struct {
		Machine, NumberOfSections                         uint16
		TimeDateStamp, PointerToSymbolTable, NumberOfSyms uint32
		SizeOfOptionalHeader, Characteristics             uint16
	}{Machine: 0x8664, NumberOfSections: 1, SizeOfOptionalHeader: optSize,
		Characteristics: 0x0002 | 0x0020 | 0x2000}) // executable image, large address aware, DLL
	w(struct {
		Magic                                                   uint16
		MajorLinker, MinorLinker                                uint8
		SizeOfCode, SizeOfInitData, SizeOfUninitData            uint32
		AddressOfEntryPoint, BaseOfCode                         uint32
		ImageBase                                               uint64
		SectionAlignment, FileAlignment                         uint32
		MajorOS, MinorOS, MajorImage, MinorImage                uint16
		MajorSubsystem, MinorSubsystem                          uint16
		Win32VersionValue, SizeOfImage, SizeOfHeaders, CheckSum uint32
		Subsystem, DllCharacteristics                           uint16
		StackReserve, StackCommit, HeapReserve, HeapCommit      uint64
		LoaderFlags, NumberOfRvaAndSizes                        uint32
	}{Magic: 0x20b, SizeOfInitData: fileAlign, BaseOfCode: edataRVA, ImageBase: 0x180000000,
		SectionAlignment: sectionAlign, FileAlignment: fileAlign, MajorOS: 6, MajorSubsystem: 6,
		SizeOfImage: 2 * sectionAlign, SizeOfHeaders: fileAlign,
		Subsystem: 3, DllCharacteristics: 0x0040 | 0x0100, // console; dynamic base, NX compatible
		StackReserve: 0x100000, StackCommit: 0x1000, HeapReserve: 0x100000, HeapCommit: 0x1000,
		NumberOfRvaAndSizes: 16})
	dirs := make([]uint32, 32) // 16 data directories; the first is the export table
	dirs[0], dirs[1] = edataRVA, uint32(edataSize)
	w(dirs)
	w(struct {
		Name                            [8]byte
		VirtualSize, VirtualAddress     uint32
		SizeOfRawData, PointerToRawData uint32
		PointerToRelocs, PointerToLines uint32
		NumberOfRelocs, NumberOfLines   uint16
		Characteristics                 uint32
	}{Name: [8]byte{'.', 'e', 'd', 'a', 't', 'a'}, VirtualSize: uint32(edataSize), VirtualAddress: edataRVA,
		SizeOfRawData: fileAlign, PointerToRawData: edataOffset,
		Characteristics: 0x00000040 | 0x40000000}) // initialised data, readable
	f.Write(make([]byte, edataOffset-f.Len()))
	f.Write(e.Bytes())
	f.Write(make([]byte, edataOffset+fileAlign-f.Len()))
	return f.Bytes()
}
