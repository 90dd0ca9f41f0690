-- name: insert_account
-- A new account @u with its Argon2id hash @h; no row when the user name is taken.
INSERT INTO account (username, password_hash, role, area_code, worker_code, department,
                     must_change_password)
VALUES (:u, :h, :r, :a, :w, :d, true)
ON CONFLICT (username) DO NOTHING
RETURNING id;
-- name: account_for_login
-- The account of user name @u, locked for the attempt (failed attempts count once each).
SELECT id, username, password_hash, role, area_code, worker_code, department, disabled,
       failed_attempts, locked_until, must_change_password
FROM account WHERE username = :u
FOR UPDATE;
-- name: login_failed
-- One more failed attempt on account @i; at @n failures it locks until @until and counts anew.
UPDATE account
SET failed_attempts = CASE WHEN failed_attempts + 1 >= :n THEN 0 ELSE failed_attempts + 1 END,
    locked_until = CASE WHEN failed_attempts + 1 >= :n THEN :until ELSE locked_until END
WHERE id = :i
RETURNING locked_until;
-- name: login_ok
-- A successful log-in on account @i: the count cleared; @h a new hash when the parameters
-- changed (NULL keeps the stored one).
UPDATE account
SET failed_attempts = 0, locked_until = NULL, password_hash = COALESCE(:h, password_hash)
WHERE id = :i;
-- name: reset_password
-- A new one-time password hash @h for user name @u; the lock and the count cleared.
UPDATE account
SET password_hash = :h, must_change_password = true, failed_attempts = 0, locked_until = NULL
WHERE username = :u
RETURNING id;
-- name: disable_account
-- Account @u disabled (no row: unknown user name).
UPDATE account SET disabled = true WHERE username = :u RETURNING id;
-- name: revoke_sessions
-- Every live session token of user name @name (a disabled account keeps none).
UPDATE api_token SET revoked_at = now()
WHERE name = :name AND revoked_at IS NULL;
-- name: set_password
-- Account @i's new Argon2id hash @h after a password change: no longer a one-time password.
UPDATE account SET password_hash = :h, must_change_password = false WHERE id = :i;
-- name: revoke_other_sessions
-- The live session tokens of user name @name except the one @keep that changed the password.
UPDATE api_token SET revoked_at = now()
WHERE name = :name AND revoked_at IS NULL AND id <> :keep;
-- name: workers_without_account
-- Of worker codes @codes, the workers no account acts as yet (code order).
SELECT w.code, w.phone
FROM worker w
WHERE w.code = ANY(CAST(:codes AS text[]))
  AND NOT EXISTS (SELECT 1 FROM account a WHERE a.worker_code = w.code)
ORDER BY w.code;
-- name: usernames_taken
-- Which of user names @names are taken already.
SELECT username FROM account WHERE username = ANY(CAST(:names AS text[]));
