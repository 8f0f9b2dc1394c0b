"""Posting policy: each post to LIST@ goes through small named rules to one decision.

`post.Post` holds the facts about one post (read once from the message and the database);
each rule in `rules/` looks at those facts and either decides or passes; `pipeline.evaluate`
takes the first decision, else accepts. `intake.process_post` acts on it, and `moderation`
holds, approves, rejects, discards and expires held posts.
"""
