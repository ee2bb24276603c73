from inbox.models.accounts import Member, Organisation, Role, ShopAccount, ShopMembership

__all__ = ["Member", "Organisation", "Role", "ShopAccount", "ShopMembership"]
