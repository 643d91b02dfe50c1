package hash

import "strconv"

// Checksum is a 32-bit FNV-1a hash of s, in hex.
func Checksum(s string) string {
	var h uint32 = 2166136261
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return strconv.FormatUint(uint64(h), 16)
}
