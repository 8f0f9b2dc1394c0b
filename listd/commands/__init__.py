"""The command robot: mail to the robot, LIST-request, -join, -leave and -confirm.

parser.py reads commands out of a mail (pure); registry.py names every command class; the
classes live in subscription.py, information.py and owner.py; membership.py holds the
subscription workflow and the actions a confirmation carries out; handlers.py is what the
inbound worker calls; reply.py writes the one answer each command mail gets.
"""
