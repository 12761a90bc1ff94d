"""Loans: members borrow copies of books and return them."""
