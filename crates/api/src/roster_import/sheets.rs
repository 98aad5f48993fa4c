//! The sheets of the roster template, their columns, and the Chinese words a clerk may
//! write for each coded value (the codes of API.md are accepted too).

#[derive(Debug)]
pub struct SheetSpec {
    pub name: &'static str,
    pub columns: &'static [Column],
    /// One sentence for the template's 说明 sheet.
    pub about: &'static str,
}

#[derive(Debug)]
pub struct Column {
    pub name: &'static str,
    pub required: bool,
    /// The longest text the column takes, in characters (0: a choice, checked as such).
    pub max_chars: usize,
    /// What to write, for the 说明 sheet.
    pub hint: &'static str,
    /// The allowed words, offered as a drop-down in the template.
    pub choices: &'static [(&'static str, &'static str)],
}

impl SheetSpec {
    pub fn headings(&self) -> Vec<&'static str> {
        self.columns.iter().map(|c| c.name).collect()
    }
}

pub const COMMUNITIES: &str = "社区";
pub const COMPOUNDS: &str = "小区";
pub const STAFF: &str = "工作人员";
pub const NEEDS: &str = "需求清单";
pub const PROBLEMS: &str = "问题清单";

pub const ROLES: &[(&str, &str)] = &[
    ("社区工作人员", "community_staff"),
    ("街道工作人员", "street_staff"),
    ("区级管理员", "district_admin"),
];

pub const NEED_CATEGORIES: &[(&str, &str)] = &[
    ("养老服务", "elderly_care"),
    ("托育服务", "childcare"),
    ("便民服务", "convenience"),
    ("公共空间", "public_space"),
    ("矛盾调解", "mediation"),
    ("就业帮扶", "employment"),
    ("健康服务", "health"),
    ("文化活动", "culture"),
    ("其他", "other"),
];

pub const NEED_SOURCES: &[(&str, &str)] = &[("走访", "visit"), ("问卷调查", "survey")];

pub const SEVERITIES: &[(&str, &str)] = &[("低", "low"), ("中", "medium"), ("高", "high")];

const fn column(name: &'static str, max_chars: usize, hint: &'static str) -> Column {
    Column {
        name,
        required: true,
        max_chars,
        hint,
        choices: &[],
    }
}

const fn optional(name: &'static str, max_chars: usize, hint: &'static str) -> Column {
    Column {
        name,
        required: false,
        max_chars,
        hint,
        choices: &[],
    }
}

const fn chosen(
    name: &'static str,
    required: bool,
    choices: &'static [(&'static str, &'static str)],
) -> Column {
    Column {
        name,
        required,
        max_chars: 0,
        hint: "从下拉列表中选择",
        choices,
    }
}

/// In import order: a sheet may name what an earlier sheet of the same file creates.
pub static SHEETS: [SheetSpec; 5] = [
    SheetSpec {
        name: COMMUNITIES,
        about: "新建社区，挂在已有的街道下。",
        columns: &[
            column("所属街道", 50, "已有街道的名称，如：新华街道"),
            column("社区名称", 50, "最多 50 个字，同一街道下不能重名"),
        ],
    },
    SheetSpec {
        name: COMPOUNDS,
        about: "新建小区，挂在已有的或本文件「社区」表新建的社区下。",
        columns: &[
            column("所属社区", 50, "社区名称"),
            column("小区名称", 50, "最多 50 个字，同一社区下不能重名"),
        ],
    },
    SheetSpec {
        name: STAFF,
        about: "新建工作人员账号；首次登录后请修改初始密码。",
        columns: &[
            column("用户名", 32, "3–32 位小写字母、数字、点、下划线或连字符"),
            column("初始密码", 128, "8–128 个字符"),
            chosen("角色", true, ROLES),
            column(
                "所属组织",
                50,
                "社区工作人员填社区名，街道工作人员填街道名，区级管理员填区名",
            ),
        ],
    },
    SheetSpec {
        name: NEEDS,
        about: "社区需求清单的条目。",
        columns: &[
            column("社区", 50, "社区名称"),
            chosen("类别", true, NEED_CATEGORIES),
            column("标题", 100, "最多 100 个字"),
            optional("描述", 2000, "最多 2000 个字"),
            optional("涉及户数", 7, "1 到 1000000 的整数"),
            chosen("来源", false, NEED_SOURCES),
        ],
    },
    SheetSpec {
        name: PROBLEMS,
        about: "社区问题清单的条目。",
        columns: &[
            column("社区", 50, "社区名称"),
            column("标题", 100, "最多 100 个字"),
            optional("描述", 2000, "最多 2000 个字"),
            chosen("严重程度", true, SEVERITIES),
        ],
    },
];

/// The code for what the clerk wrote: a Chinese word of `choices`, or the code itself.
pub fn code_of(choices: &[(&str, &'static str)], written: &str) -> Option<&'static str> {
    choices
        .iter()
        .find(|(word, code)| *word == written || *code == written)
        .map(|(_, code)| *code)
}

/// "社区工作人员、街道工作人员、区级管理员": the words of a refused value's message.
pub fn words(choices: &[(&str, &str)]) -> String {
    let words: Vec<&str> = choices.iter().map(|(word, _)| *word).collect();
    words.join("、")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_words_and_codes_both_read() {
        assert_eq!(code_of(ROLES, "街道工作人员"), Some("street_staff"));
        assert_eq!(code_of(ROLES, "street_staff"), Some("street_staff"));
        assert_eq!(code_of(ROLES, "居民"), None);
        assert_eq!(code_of(SEVERITIES, "高"), Some("high"));
    }

    #[test]
    fn every_need_category_and_severity_of_the_lists_has_a_word() {
        for category in partners::lists::NeedCategory::ALL {
            assert!(code_of(NEED_CATEGORIES, category.as_str()).is_some());
        }
        for severity in partners::lists::Severity::ALL {
            assert!(code_of(SEVERITIES, severity.as_str()).is_some());
        }
    }
}
