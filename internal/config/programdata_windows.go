package config

import (
	"os"

	"golang.org/x/sys/windows"
)

// programData is the machine's ProgramData folder as the shell knows it, the same for a service
// running as LocalSystem and for the administrator who installed it (the environment variable can
// differ between the two); the environment only when the shell cannot say.
func programData() string {
	if dir, err := windows.KnownFolderPath(windows.FOLDERID_ProgramData, windows.KF_FLAG_DEFAULT); err == nil && dir != "" {
		return dir
	}
	return os.Getenv("ProgramData")
}
