//! Contact lists: create, list, get, delete (with member clean-up), members.
