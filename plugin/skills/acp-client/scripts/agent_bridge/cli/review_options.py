"""The review options both command lines share, and the ReviewRequest they ask for."""
from ..outcome import BadArguments
from ..review import DEFAULT_STYLE, STYLES, ReviewRequest


def add_review_options(parser):
    """The review options both command lines share."""
    review = parser.add_argument_group("review (instead of a prompt)")
    review.add_argument("--review", action="store_true",
                        help="review the uncommitted changes of --cwd: staged, unstaged and untracked")
    review.add_argument("--review-base", metavar="BRANCH", help="review the changes against the base branch BRANCH")
    review.add_argument("--review-commit", metavar="SHA", help="review the changes the commit SHA introduced")
    review.add_argument("--review-instructions", metavar="TEXT",
                        help="what to look at; alone, a review of whatever TEXT names")
    review.add_argument("--review-style", choices=STYLES, help="adversarial: challenge the design and its "
                                                                "assumptions, not the style (default: default)")


def is_review(args):
    return bool(args.review or args.review_base or args.review_commit or args.review_instructions is not None)


def review_request_from(args):
    """The ReviewRequest the command line asks for, or None when it asks for no review."""
    if not is_review(args):
        if args.review_style:
            raise BadArguments("--review-style goes with --review, --review-base, --review-commit or "
                               "--review-instructions")
        return None
    if args.prompt is not None or args.prompt_file is not None:
        raise BadArguments("a review takes no prompt: say what to look at with --review-instructions")
    if args.review_instructions is not None and not args.review_instructions.strip():
        raise BadArguments("--review-instructions is empty")
    return ReviewRequest(args.review, args.review_base, args.review_commit, args.review_instructions,
                         args.review_style or DEFAULT_STYLE)
