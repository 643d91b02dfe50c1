package shout

import "fmt"

// Shout upper-cases a message and adds an exclamation mark.
func Shout(msg string) string {
	return fmt.Sprintf("%s!", strings.ToUpper(msg))
}

// Whisper lower-cases a message.
func Whisper(msg string) string {
	return strings.ToLower(msg) + "..."
}
