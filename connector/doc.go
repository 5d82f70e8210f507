// Package connector is the boundary between onramp and the vendors it
// connects. A vendor's package (gitlab, github) builds its catalog card — the
// auth methods, their fields and steps — and a Connector that verifies
// credentials, reads the inventory, renews and revokes, and explains its
// failures in types. The flows, the wizard, the command line and the sync
// engine use only what is declared here, so adding a vendor touches no code
// outside its own package and the catalog's list.
package connector
