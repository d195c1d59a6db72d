-- Read a user's cached platforms: the default and one platform by id, in one round trip.
--
-- KEYS[1] the platform cache of the user's routing tag
-- ARGV[1] the user's label        ARGV[2] a platform id, '' for none
-- Returns read_platforms' answer (the active-platform slot is unused here).

return read_platforms(KEYS[1], ARGV[1], false, ARGV[2])
