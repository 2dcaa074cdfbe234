package config

import (
	"fmt"
	"os"

	"github.com/jinbi/punchd/internal/calendar"
)

// CalendarOptions converts [[schedule]] and [calendar] for calendar.New, reading the
// holiday_files. Errors name the file and the key that listed it.
func (c Config) CalendarOptions() (calendar.Options, error) {
	opts := calendar.Options{Schedules: c.Schedules()}
	for _, o := range c.Calendar.Overrides {
		opts.Overrides = append(opts.Overrides, calendar.Override{Date: o.Date, Type: o.Type, Name: o.Name})
	}
	for i, path := range c.Calendar.HolidayFiles {
		key := fmt.Sprintf("calendar.holiday_files[%d]", i)
		f, err := os.Open(path)
		if err != nil {
			return calendar.Options{}, &KeyError{c.source, key, err.Error()}
		}
		hf, err := calendar.LoadHolidayJSON(f)
		f.Close()
		if err != nil {
			return calendar.Options{}, &KeyError{c.source, key, fmt.Sprintf("%s: %v", path, err)}
		}
		opts.Extra = append(opts.Extra, hf)
	}
	return opts, nil
}

// NewCalendar builds the calendar the config describes.
func (c Config) NewCalendar() (*calendar.Calendar, error) {
	opts, err := c.CalendarOptions()
	if err != nil {
		return nil, err
	}
	cal, err := calendar.New(opts)
	if err != nil {
		p := "config"
		if c.source != "" {
			p += " " + c.source
		}
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return cal, nil
}
