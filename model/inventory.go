package model

// InventoryUser is one person (or bot) in a snapshot.
type InventoryUser struct {
	ID             ID     `json:"id"`
	Username       string `json:"username"`
	Name           string `json:"name"`
	Email          string `json:"email,omitempty"`
	State          string `json:"state"`
	Bot            bool   `json:"bot"`
	Admin          bool   `json:"admin"`
	Seat           *bool  `json:"using_license_seat,omitempty"` // nil: the view does not say
	CreatedAt      string `json:"created_at,omitempty"`
	LastSignInAt   string `json:"last_sign_in_at,omitempty"`
	LastActivityOn string `json:"last_activity_on,omitempty"`
	// Licenses are the products assigned to the person, by the vendor's
	// name for them (Microsoft's SKU part numbers: ENTERPRISEPACK, …).
	Licenses []string `json:"licenses,omitempty"`
}

// Seats are seat figures of a license or a gitlab.com namespace.
type Seats struct {
	Scope     string `json:"scope"` // "license", or a group path
	Plan      string `json:"plan"`
	Seats     *int   `json:"seats,omitempty"` // purchased (nil: unlimited or unknown)
	Used      *int   `json:"used,omitempty"`
	MaxUsed   *int   `json:"max_used,omitempty"`
	ExpiresAt string `json:"expires_at,omitempty"`
}
