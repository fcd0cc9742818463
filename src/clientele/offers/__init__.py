"""Offers, manufacturer accounts, personal shopping lists, redemptions and manufacturer statements."""
