package store

import (
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/jinbi/punchd/internal/attendance"
)

func dayKey(d attendance.Date, user string) []byte {
	return append(dateKey(make([]byte, 0, 4+len(user)), d), user...)
}

func dayIndexKey(user string, d attendance.Date) []byte {
	return dateKey(userPrefix(user), d)
}

func putDays(tx *bolt.Tx, days []attendance.Day) error {
	b, idx := tx.Bucket(bDays), tx.Bucket(bDaysByUser)
	for _, d := range days {
		v, err := json.Marshal(d)
		if err != nil {
			return fmt.Errorf("day %s user %q: %w", d.Date, d.UserID, err)
		}
		if err := b.Put(dayKey(d.Date, d.UserID), v); err != nil {
			return fmt.Errorf("day %s user %q: %w", d.Date, d.UserID, err)
		}
		if err := idx.Put(dayIndexKey(d.UserID, d.Date), nil); err != nil {
			return fmt.Errorf("day %s user %q: index: %w", d.Date, d.UserID, err)
		}
	}
	return nil
}

func (db *DB) decodeDay(k, v []byte) (attendance.Day, error) {
	var d attendance.Day
	if err := json.Unmarshal(v, &d); err != nil {
		return d, fmt.Errorf("%w: day %x: %v", ErrInconsistent, k, err)
	}
	for name, s := range d.Slots {
		s.Name = name
		s.Expected = db.in(s.Expected)
		if s.Time != nil {
			t := db.in(*s.Time)
			s.Time = &t
		}
		d.Slots[name] = s
	}
	return d, nil
}

// Days returns the judged days with from <= date <= to, ordered by date then user id. A zero
// from or to leaves that end open.
func (db *DB) Days(from, to attendance.Date) ([]attendance.Day, error) {
	var out []attendance.Day
	err := db.view("days", func(tx *bolt.Tx) error {
		c := tx.Bucket(bDays).Cursor()
		var k, v []byte
		if from.IsZero() {
			k, v = c.First()
		} else {
			k, v = c.Seek(dateKey(nil, from))
		}
		for ; k != nil; k, v = c.Next() {
			if len(k) < 5 {
				return fmt.Errorf("%w: malformed day key %x", ErrInconsistent, k)
			}
			if !to.IsZero() && dateFromKey(k).After(to) {
				break
			}
			d, err := db.decodeDay(k, v)
			if err != nil {
				return err
			}
			out = append(out, d)
		}
		return nil
	})
	return out, err
}

// DaysFor returns userID's judged days with from <= date <= to, in date order. A zero from or to
// leaves that end open.
func (db *DB) DaysFor(userID string, from, to attendance.Date) ([]attendance.Day, error) {
	if err := checkUserID(userID); err != nil {
		return nil, fmt.Errorf("store %s: days for: %w", db.path, err)
	}
	var out []attendance.Day
	err := db.view("days for "+userID, func(tx *bolt.Tx) error {
		days := tx.Bucket(bDays)
		prefix := userPrefix(userID)
		start := prefix
		if !from.IsZero() {
			start = dateKey(append([]byte(nil), prefix...), from)
		}
		c := tx.Bucket(bDaysByUser).Cursor()
		for k, _ := c.Seek(start); k != nil && hasPrefix(k, prefix); k, _ = c.Next() {
			if len(k) != len(prefix)+4 {
				return fmt.Errorf("%w: malformed day index key %x", ErrInconsistent, k)
			}
			date := dateFromKey(k[len(prefix):])
			if !to.IsZero() && date.After(to) {
				break
			}
			dk := dayKey(date, userID)
			v := days.Get(dk)
			if v == nil {
				return fmt.Errorf("%w: day index names %s %q but the day is missing", ErrInconsistent, date, userID)
			}
			d, err := db.decodeDay(dk, v)
			if err != nil {
				return err
			}
			out = append(out, d)
		}
		return nil
	})
	return out, err
}

// Day returns userID's judged day on date, if stored.
func (db *DB) Day(userID string, date attendance.Date) (attendance.Day, bool, error) {
	var d attendance.Day
	var ok bool
	if err := checkUserID(userID); err != nil {
		return d, false, fmt.Errorf("store %s: day: %w", db.path, err)
	}
	err := db.view("day "+date.String()+" "+userID, func(tx *bolt.Tx) error {
		k := dayKey(date, userID)
		v := tx.Bucket(bDays).Get(k)
		if v == nil {
			return nil
		}
		var err error
		d, err = db.decodeDay(k, v)
		ok = err == nil
		return err
	})
	return d, ok, err
}
