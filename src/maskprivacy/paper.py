"""The paper's published numbers, in one place.

Seneviratne et al., "Does a Face Mask Protect my Privacy?" (AJCAI 2021, arXiv 2112.07879), as read
from its abstract, tables and public code (see ../shared/PAPER_NOTES.md). The report's comparison
columns and the PVI check of the paper's 2.9% (``maskprivacy privacy paper``) both read these
constants, so a typo can only exist once. Accuracies are fractions, MAE/RMSE in years.
"""

from __future__ import annotations

CITATION = (
    "Seneviratne et al., Does a Face Mask Protect my Privacy?: Deep Learning to Predict Protected "
    "Attributes from Masked Face Images, AJCAI 2021 (arXiv 2112.07879)"
)

# Results tables: column -> metric -> value (None: the paper does not report it).
# "unmasked_sota" are other papers' unmasked results that the paper quotes for comparison.
PAPER_COLUMNS: dict[str, str] = {
    "unmasked_sota": "paper: unmasked SOTA (other papers)",
    "masked_random": "paper: masked, random split",
    "masked_uniform": "paper: masked, uniform split",
}
PAPER_RESULTS: dict[str, dict[str, float | None]] = {
    "unmasked_sota": {
        "sex_accuracy": 0.9823,
        "race_accuracy": 0.9123,
        "age_bucket_accuracy": 0.701,
        "age_mae": 5.44,
        "age_rmse": None,
    },
    "masked_random": {
        "sex_accuracy": 0.9401,
        "race_accuracy": 0.8220,
        "age_bucket_accuracy": None,
        "age_mae": 6.21,
        "age_rmse": 8.33,
    },
    "masked_uniform": {
        "sex_accuracy": 0.9465,
        "race_accuracy": 0.8312,
        "age_bucket_accuracy": 0.6794,
        "age_mae": None,
        "age_rmse": None,
    },
}

# Per-class test accuracy, masked faces, uniform split (n = 2,299).
PAPER_PER_CLASS_UNIFORM: dict[str, dict[str, float]] = {
    "sex": {"male": 0.947, "female": 0.946},
    "race": {"White": 0.907, "Black": 0.897, "Asian": 0.871, "Indian": 0.801, "Others": 0.201},
    "age_bucket": {
        "0-3": 0.936,
        "4-12": 0.743,
        "13-19": 0.252,
        "20-30": 0.845,
        "31-45": 0.497,
        "46-60": 0.519,
        "61+": 0.725,
    },
}
PAPER_N_TEST = 2299

# The inputs of the paper's headline PVI comparison as we can reconstruct them: the best masked
# result for each attribute (uniform split for sex, race and age bucket; the paper reports age MAE
# only for the random split) against the unmasked state of the art it quotes.
PAPER_PVI_MASKED: dict[str, float] = {
    "sex_accuracy": 0.9465,
    "race_accuracy": 0.8312,
    "age_bucket_accuracy": 0.6794,
    "age_mae": 6.21,
}
PAPER_PVI_UNMASKED: dict[str, float] = {
    "sex_accuracy": 0.9823,
    "race_accuracy": 0.9123,
    "age_bucket_accuracy": 0.701,
    "age_mae": 5.44,
}
PAPER_PVI_REDUCTION = 0.029  # "masks reduce the PVI by only 2.9%"

# UTKFace class counts quoted in PAPER_NOTES (23,708 files; the three without a race field are
# counted in sex only, which is why the race counts sum to 23,705).
UTKFACE_SEX_COUNTS: tuple[int, ...] = (12391, 11317)
UTKFACE_RACE_COUNTS: tuple[int, ...] = (10078, 4526, 3434, 3975, 1692)

# Survey claims (the data are not public): Wilcoxon-type P value and the share believing a mask
# makes them more private. Quoted only as the paper's claims, never as our result.
PAPER_SURVEY_P = 0.00964
PAPER_SURVEY_SHARE_MORE_PRIVATE = 0.50
