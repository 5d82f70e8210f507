// Package model is onramp's domain: a connection, its account and secrets,
// how its token renews itself, and what a sync finds (people, seats). It is
// the ground floor the vendor contract stands on: a vendor package imports
// it, never the store, so it links no database.
package model
