"""Security cores, sans-IO: authentication mechanisms (SASL PLAIN, SCRAM, OAUTHBEARER), principals,
and the authorizer's ACL semantics. The server layer drives them over connections; the metadata layer
stores what they need (ACLs, SCRAM credentials) in the replicated log."""
