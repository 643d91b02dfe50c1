package shout

import "testing"

func TestShoutAndWhisper(t *testing.T) {
	if got := Shout("hi there"); got != "HI THERE!" {
		t.Fatalf("Shout = %q", got)
	}
	if got := Whisper("QUIET"); got != "quiet..." {
		t.Fatalf("Whisper = %q", got)
	}
}
