-- Sign-in failures are counted per (user name, client address): one address's failures no
-- longer lock the account for every other address.
CREATE INDEX login_failure_source ON login_failure (username, address, failed_at);
