"""The frozen RGB policy's training: expert frames on clear days (:mod:`.data`), augmentations
(:mod:`.augment`) and the perception network's training (:mod:`.train`)."""
