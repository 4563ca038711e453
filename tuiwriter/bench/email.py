"""A plain-text e-mail thread of about 5,000 characters, for latency figures on everyday text
(`python -m tuiwriter.bench --email-thread PATH` writes it): written for this project, no
external text. Each reply quotes the message before it with "> ", as mail clients do, so the
document repeats itself the way real threads do."""

from __future__ import annotations

MESSAGES = [
    ("Dana Whitfield <dana@example.org>", "Tue, 3 Mar 2026 09:14", "Venue for the spring workshop",
     "Hi all,\n\nI have two options for the spring workshop: the library's east room (seats 40, free "
     "on weekdays, projector included) or the community hall on Mill Street (seats 80, 120 per day, "
     "we bring our own projector). The dates we talked about were the 14th and 15th of April.\n\n"
     "Could you tell me by Friday which one you prefer, and whether two days is still the plan? "
     "I would like to book before the end of the week.\n\nThanks,\nDana"),
    ("Omar Lindqvist <omar@example.org>", "Tue, 3 Mar 2026 11:02", "Re: Venue for the spring workshop",
     "Hi Dana,\n\nThanks for looking into this. Forty seats should be enough: last year we had 31 "
     "people on the first day and 26 on the second. I prefer the library, mostly because the "
     "projector is included and it is a short walk from the station.\n\nTwo days is still the plan "
     "as far as I know. Can we ask the library whether we can use the room from 8:30, so we have "
     "time to set up before people arrive?\n\nBest,\nOmar"),
    ("Priya Castellanos <priya@example.org>", "Tue, 3 Mar 2026 14:40", "Re: Venue for the spring workshop",
     "Hello both,\n\nThe library works for me too. One thing to check: the east room had no "
     "microphone last time, and the people at the back could not hear the questions. If they "
     "still have none, I can bring the small speaker from the office.\n\nAlso, should we order "
     "lunch, or do we send everyone to the cafe across the road? Last year the cafe was full by "
     "noon and the afternoon session started twenty minutes late.\n\nPriya"),
    ("Dana Whitfield <dana@example.org>", "Wed, 4 Mar 2026 08:55", "Re: Venue for the spring workshop",
     "Hi Omar, hi Priya,\n\nGood points, thank you. I called the library this morning: we can have "
     "the east room from 8:30 on both days, and they still have no microphone, so yes please, "
     "Priya, bring the speaker from the office.\n\nFor lunch I suggest we order sandwiches for "
     "35 people on both days and eat in the room next door, which the library lets us use for "
     "free. I will ask the bakery on Mill Street for a quote.\n\nI have booked the east room for "
     "the 14th and 15th of April. I will send a calendar invitation to everyone this afternoon.\n\n"
     "Thanks,\nDana"),
    ("Omar Lindqvist <omar@example.org>", "Wed, 4 Mar 2026 10:21", "Re: Venue for the spring workshop",
     "Hi Dana,\n\nThat all sounds good. Sandwiches for 35 people on both days is fine with me, and "
     "eating in the room next door will save us the twenty minutes we lost last year. Please ask "
     "the bakery whether they can deliver at 12:15, and whether they have a vegetarian option for "
     "about a third of the sandwiches.\n\nI will prepare the programme for both days and send "
     "a first draft to you and Priya by next Wednesday. If anyone wants a slot for a short talk, "
     "tell me before then.\n\nBest,\nOmar"),
]


def quoted(body: str) -> str:
    """The body as a reply quotes it."""
    return "\n".join("> " + line if line else ">" for line in body.split("\n"))


def thread() -> str:
    """The whole thread, each message quoting the one before it."""
    parts: list[str] = []
    previous: tuple[str, str, str] | None = None
    for sender, date, subject, body in MESSAGES:
        text = f"From: {sender}\nDate: {date}\nSubject: {subject}\n\n{body}\n"
        if previous is not None:
            text += f"\nOn {previous[1]}, {previous[0]} wrote:\n{quoted(previous[2])}\n"
        parts.append(text)
        previous = (sender, date, body)
    return ("-" * 40 + "\n").join(parts)
