# CompRess (research/methods.md §1.1-1.5): K=128,000, tau=0.04 for teacher and student.
method = dict(type='compress_2q_nomom', bank_size=128000, temperature=0.04, teacher_feature='backbone',
              bank_init='uniform')
