"""monitoring's REST endpoints. None yet: the sensitive-word and SLA issues add them here,
mounted by the project's URLconf as the other apps' are."""
