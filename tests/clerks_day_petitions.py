"""A hotline clerk's morning: twenty petitions written for the clerk's-day test (not from any corpus).

Each one stands for something the clerk meets on a real day: ordinary matters for each of the
sample city's departments, an emergency phrased as a caller would (no "泄漏" in it), a repeat of an
earlier petition in other words, matters the hotline must not accept, a vague one the model
should not be sure of, and one in Traditional characters. `role` says which promise it tests.
"""

from __future__ import annotations

from typing import TypedDict


class Petition(TypedDict):
    key: str
    role: str
    title: str
    body: str


PETITIONS: list[Petition] = [
    {
        "key": "gas",
        "role": "emergency",
        "title": "楼道里煤气味很重",
        "body": "城北区和平路12号2单元楼道里闻到很浓的煤气味，好几户都闻到了，怕出事，请尽快派人来看看！",
    },
    {
        "key": "wages",
        "role": "ordinary",
        "title": "装修公司拖欠三个月工资",
        "body": "我在城南区一家装修公司做木工，公司已经三个月没发工资了，老板一直推说工程款没到，十几个工友都在等钱过年。",
    },
    {
        "key": "wages_again",
        "role": "repeat",
        "title": "再次反映：装修公司拖欠三个月工资",
        "body": "我在城南区一家装修公司做木工，公司已经三个月没发工资了，老板一直推说工程款没到，十几个工友都在等钱过年。上周已经反映过，至今没人联系我们。",
    },
    {
        "key": "noise",
        "role": "ordinary",
        "title": "工地夜间施工噪音扰民",
        "body": "滨江区江畔花园旁边的工地每天晚上十一点以后还在打桩，噪音很大，老人孩子都睡不着，请管一管。",
    },
    {
        "key": "lawsuit",
        "role": "out_of_scope",
        "title": "房屋买卖合同纠纷",
        "body": "我和开发商的房屋买卖合同纠纷已经向城南区人民法院起诉，法院至今没有判决，请12345督促法院尽快审理。",
    },
    {
        "key": "review",
        "role": "out_of_scope",
        "title": "对罚款不服",
        "body": "市场监管局对我的小超市罚款两万元，我认为处罚过重，我要对这个处罚决定申请行政复议。",
    },
    {
        "key": "traditional",
        "role": "traditional",
        "title": "社區垃圾站臭氣熏天",
        "body": "城北區幸福里社區的垃圾站好幾天沒有清運，臭氣熏天，蚊蠅很多，居民意見很大，請盡快處理。",
    },
    {
        "key": "vague",
        "role": "abstain",
        "title": "反映一个问题",
        "body": "有个事情想反映一下，希望有关部门重视，尽快给个说法。",
    },
    {
        "key": "school",
        "role": "ordinary",
        "title": "孩子入学划片问题",
        "body": "我家在高新区紫荆苑，户口也在这里，今年孩子上小学却被划到了三公里外的学校，想咨询划片的依据。",
    },
    {
        "key": "milk",
        "role": "ordinary",
        "title": "超市出售过期酸奶",
        "body": "城南区万家福超市冷柜里的酸奶有好几盒已经过期五天了还在卖，我拍了照片，请市场监管部门查处。",
    },
    {
        "key": "bus",
        "role": "ordinary",
        "title": "建议增开公交线路",
        "body": "青山县新城片区住了上万人，只有一条公交线路，早高峰要等四十分钟，建议增开一条到市区的公交。",
    },
    {
        "key": "pension",
        "role": "ordinary",
        "title": "养老保险转移接续咨询",
        "body": "我从外省调到临江工作，之前交了八年的养老保险，想问一下怎么转移到临江，需要准备哪些材料？",
    },
    {
        "key": "hospital",
        "role": "ordinary",
        "title": "医院挂号难",
        "body": "市第一人民医院的专家号每天一放出来就没了，网上挂不到，现场也排不到，老人看病太难了。",
    },
    {
        "key": "parking",
        "role": "ordinary",
        "title": "小区门口乱停车",
        "body": "城北区锦绣花园门口每天都有车辆占用人行道停车，行人只能走机动车道，很危险，希望交警来查处。",
    },
    {
        "key": "heating",
        "role": "ordinary",
        "title": "老旧小区屋顶漏水",
        "body": "城南区幸福里小区5号楼顶楼屋顶漏水两年了，一下雨家里墙面全湿，物业说要动用维修资金，不知道怎么申请。",
    },
    {
        "key": "dog",
        "role": "ordinary",
        "title": "小区有人遛狗不牵绳",
        "body": "高新区翠苑小区经常有人遛大型犬不牵绳，昨天差点咬到小孩，物业管不了，请相关部门处理。",
    },
    {
        "key": "trapped",
        "role": "emergency",
        "title": "电梯困人",
        "body": "滨江区观澜府3号楼电梯突然停在两层之间，里面关着一位老人和一个孩子，打物业电话没人接，快来人救救他们！",
    },
    {
        "key": "welfare",
        "role": "ordinary",
        "title": "低保申请进度",
        "body": "我母亲今年六十八岁，一个人生活没有收入，三个月前向社区申请了低保，到现在都没有结果，想问问进度。",
    },
    {
        "key": "smoke",
        "role": "emergency",
        "title": "对面楼冒黑烟",
        "body": "城南区建设路88号对面楼的五楼窗户一直往外冒黑烟，好像有明火，不知道里面有没有人，请马上处理！",
    },
    {
        "key": "river",
        "role": "ordinary",
        "title": "河道有污水排放",
        "body": "青山县青溪河桥下有一根管子每天晚上往河里排黑水，河面漂着死鱼，气味很臭，怀疑是附近工厂偷排。",
    },
]
